"""The report's section on the recommenders: how each did on the weeks it had not seen."""

from regulars.analytics.page import Section
from regulars.analytics.recommend.evaluation import Evaluation
from regulars.i18n import Language

MODELS = ("popular", "own favourites", "buy again", "also like", "blend")


def recommendations_section(t: Language, found: Evaluation) -> Section:
    head = "".join(
        f"<th>{h}</th>"
        for h in (t("model"), f"precision@{found.k}", f"recall@{found.k}", f"NDCG@{found.k}",
                  f"MAP@{found.k}", t("coverage"), t("novelty"))
    )  # fmt: skip
    rows = "".join(
        f"<tr><td>{t(name)}</td>"
        + "".join(
            f"<td class=num>{t.number(v, 3)}</td>" for v in (q.precision, q.recall, q.ndcg, q.map)
        )
        + f"<td class=num>{t.percent(q.coverage)}</td>"
        + f"<td class=num>{t.number(q.novelty, 2)}</td></tr>"
        for name in MODELS
        if (q := found.quality.get(name)) is not None
    )
    blend, own, popular = (found.quality[m] for m in ("blend", "own favourites", "popular"))
    finding = t(
        "Learnt up to {cutoff} and checked on the {members} members' purchases to {end}: the "
        "lists put {blend} of their top {k} among what they bought, each member's own "
        "favourites {own} and the best sellers {popular}.",
        cutoff=found.cutoff, end=found.test_end, members=t.number(found.members_judged),
        blend=t.percent(blend.precision), own=t.percent(own.precision),
        popular=t.percent(popular.precision), k=found.k,
    )  # fmt: skip
    if not found.beats_baselines("precision"):
        finding += " " + t("They do not beat both baselines: lean on the favourites.")
    return Section(t("Recommendations"), f"<table><tr>{head}</tr>{rows}</table>", finding)
