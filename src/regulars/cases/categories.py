"""A new case's category suggested from its text by a model learnt from the cases agents
have filed, and the agent's word on it.

The model is refitted when the labelled cases change (another case confirmed), at most
once per change and process: a few thousand cases take well under a second. Its accuracy
on held-out cases is kept with it and shown beside every suggestion, so an agent knows how
far to trust it.
"""

from dataclasses import dataclass
from threading import Lock
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from regulars.cases.models import Case, CaseCategory
from regulars.cases.suggest import Measured, measure
from regulars.errors import Conflict
from regulars.privacy.service import ERASED

LEAST_LABELLED: Final = 40  # fewer confirmed cases than this teach a model too little


class NoCategoryModel(Conflict):
    code = "no_category_model"


@dataclass(frozen=True)
class CategoryAdvice:
    category: CaseCategory
    confidence: float
    accuracy: float  # of the model on held-out labelled cases
    baseline_accuracy: float  # always guessing the most common category
    labelled_cases: int


_fitted: dict[tuple[str, int, int], Measured] = {}
_fitting = Lock()


def category_model(session: Session) -> tuple[Measured, int]:
    """The model learnt from the confirmed cases, and how many there were."""
    confirmed = Case.category_confirmed.is_(True)
    count, last = session.execute(
        select(func.count(), func.coalesce(func.max(Case.id), 0)).where(confirmed)
    ).one()
    key = (str(session.get_bind().engine.url), int(count), int(last))
    with _fitting:
        if key not in _fitted:
            rows = [
                (text, category)
                for text, category in session.execute(
                    select(Case.description, Case.category).where(confirmed)
                )
                if text != ERASED  # an erased member's words are gone
            ]
            if len(rows) < LEAST_LABELLED or len({c for _, c in rows}) < 2:
                raise NoCategoryModel(
                    f"{len(rows)} confirmed cases are too few to suggest a category from "
                    f"(at least {LEAST_LABELLED}): choose it by hand",
                    field="category",
                )
            _fitted.clear()  # one model per process is enough
            _fitted[key] = measure([t for t, _ in rows], [c for _, c in rows])
        return _fitted[key], int(count)


def suggest_category(session: Session, *, text: str) -> CategoryAdvice:
    measured, labelled = category_model(session)
    suggestion = measured.model.suggest(text)
    return CategoryAdvice(
        suggestion.category, suggestion.confidence, measured.accuracy,
        measured.baseline_accuracy, labelled,
    )  # fmt: skip
