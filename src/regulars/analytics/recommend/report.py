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
    return Section(t("Recommendations"), f"<table><tr>{head}</tr>{rows}</table>",
                   f"{finding} {_blend_words(t, found)}")  # fmt: skip


def _blend_words(t: Language, found: Evaluation) -> str:
    """How the chosen blend weighs a member's purchases, and whether it beats the baselines."""
    life, due = found.blend.half_life_days, found.blend.due_weight > 0
    if life is None:
        said = (
            t("The blend counts every purchase day alike and raises the regulars that are due.")
            if due
            else t("The blend counts every purchase day alike.")
        )
    else:
        weeks = t.number(life / 7)
        said = (
            t(
                "The blend halves a purchase day's weight every {weeks} weeks and raises the "
                "regulars that are due.",
                weeks=weeks,
            )
            if due
            else t("The blend halves a purchase day's weight every {weeks} weeks.", weeks=weeks)
        )
    if not found.beats_baselines("precision"):
        said += " " + t("They do not beat both baselines: lean on the favourites.")
    return said
