"""A survey's results as they stand, for the people who run it: how many answered, each
score with its interval, by store, and what drives the overall rating. The chain-wide
analysis across surveys, segments and behaviour is the analytics report's."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.analytics.satisfaction import Drivers, drivers_of
from regulars.analytics.scores import Estimate, estimates_by_group, mean_score, nps
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
        if question.key.startswith(RATING):
            name = question.key.removeprefix(RATING)
            given = [ratings[r.id][name] for r, _ in answers if name in ratings[r.id]]
        else:
            given = [v for r, _ in answers if (v := getattr(r, question.key)) is not None]
        if given:
            scores[question.key] = (nps if question.key == "nps" else mean_score)(given)
    by_store: dict[str, dict[str, Estimate]] = {}
    for score in ("nps", "csat"):
        pairs = [
            (store, v) for r, store in answers if store and (v := getattr(r, score)) is not None
        ]
        if pairs:
            found = estimates_by_group(
                [s for s, _ in pairs], np.array([v for _, v in pairs], dtype=float),
                estimate=nps if score == "nps" else mean_score,
            )  # fmt: skip
            by_store[score] = found
    stores = sorted(set().union(*(set(v) for v in by_store.values()))) if by_store else []
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
            StoreScores(s, by_store.get("nps", {}).get(s), by_store.get("csat", {}).get(s))
            for s in stores
        ],
        drivers=drivers_of(target, rated) if rated else None,
    )
