"""A survey's results as they stand, for the people who run it: how many answered, each
score with its interval, by store, and what drives the overall rating. The chain-wide
analysis across surveys, segments and behaviour is the analytics report's."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.analytics.satisfaction import Drivers, drivers_of
from regulars.analytics.scores import Estimate, by_group_where_asked, estimate_where_asked
from regulars.catalog.models import Store
from regulars.surveys.models import SurveyInvitation, SurveyResponse
from regulars.surveys.rules import RATING
from regulars.surveys.service import get_survey, questions_of, ratings_of

SCORES = ("nps", "csat", "effort", "overall")


@dataclass(frozen=True)
class StoreScores:
    store: str
    nps: Estimate | None
    csat: Estimate | None


@dataclass(frozen=True)
class SurveyResults:
    invited: int
    answered: int
    scores: dict[str, Estimate]  # question key (nps, csat, rating:freshness, …): its estimate
    stores: list[StoreScores]
    drivers: Drivers | None  # of the overall rating, or of NPS where it asks no overall


def survey_results(session: Session, *, code: str) -> SurveyResults:
    survey = get_survey(session, code=code)
    invited = session.scalar(select(func.count()).where(SurveyInvitation.survey_id == survey.id))
    answers = [
        (response, store)
        for response, store in session.execute(
            select(SurveyResponse, Store.code)
            .outerjoin(Store, Store.id == SurveyResponse.store_id)
            .where(SurveyResponse.survey_id == survey.id)
        )
    ]
    ratings = ratings_of(session, [r.id for r, _ in answers])
    scores: dict[str, Estimate] = {}
    for question in questions_of(survey):
        if not question.scored:
            continue
        name = question.key.removeprefix(RATING)
        given = [
            ratings[r.id].get(name) if question.key.startswith(RATING) else getattr(r, name)
            for r, _ in answers
        ]
        if (found := estimate_where_asked(given, question.key)) is not None:
            scores[question.key] = found
    stores = [store or "" for _, store in answers]
    by_store = {
        score: by_group_where_asked(stores, [getattr(r, score) for r, _ in answers], score)
        for score in ("nps", "csat")
    }
    target = "overall" if "overall" in scores else "nps"
    rated = [
        ({name: float(v) for name, v in ratings[r.id].items()}, float(getattr(r, target)))
        for r, _ in answers
        if ratings[r.id] and getattr(r, target) is not None
    ]
    return SurveyResults(
        invited=invited or 0,
        answered=len(answers),
        scores=scores,
        stores=[
            StoreScores(store, by_store["nps"].get(store), by_store["csat"].get(store))
            for store in sorted({*by_store["nps"], *by_store["csat"]} - {""})
        ],
        drivers=drivers_of(target, rated) if rated else None,
    )
