"""A case filed without a category gets one suggested from its words by a model learnt
from the confirmed cases; the agent confirms or changes it, and the history says so."""

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from regulars.cases.categories import LEAST_LABELLED, NoCategoryModel, suggest_category
from regulars.cases.models import Case, CaseCategory, CaseChannel, Severity
from regulars.cases.service import NewCase, confirm_category, history, open_case
from regulars.demo.complaints import complaint_text, labelled_complaints
from tests.cases.conftest import FRIDAY_FIVE


def filed(session: Session, text: str, category: CaseCategory | None) -> int:
    case = NewCase(
        channel=CaseChannel.APP, store_code="S001", category=category,
        severity=Severity.LOW, description=text,
    )  # fmt: skip
    return open_case(session, case=case, now=FRIDAY_FIVE, actor="agent").id


def test_too_few_confirmed_cases_suggest_nothing(desk: Session) -> None:
    for text, category in labelled_complaints(LEAST_LABELLED - 1, np.random.default_rng(1)):
        filed(desk, text, category)
    with pytest.raises(NoCategoryModel):
        filed(desk, "排队结账等了二十分钟", None)


def test_a_case_without_a_category_is_filed_under_the_suggested_one_until_confirmed(
    desk: Session,
) -> None:
    rng = np.random.default_rng(2)
    for text, category in labelled_complaints(400, rng):
        filed(desk, text, category)
    words = complaint_text(CaseCategory.CHECKOUT_WAIT, "zh-CN", rng)
    advice = suggest_category(desk, text=words)
    assert advice.labelled_cases == 400
    assert advice.accuracy > max(0.7, advice.baseline_accuracy + 0.4)
    case_id = filed(desk, words, None)
    case = confirm_category(
        desk, case_id=case_id, category=CaseCategory.STAFF_ATTITUDE,
        now=FRIDAY_FIVE + timedelta(minutes=5), actor="agent 7",
    )  # fmt: skip
    assert (case.category, case.category_confirmed) == (CaseCategory.STAFF_ATTITUDE, True)
    last = history(desk, case_id=case_id)[-1]
    assert (last.kind, last.actor) == ("category", "agent 7")
    assert last.note == f"category staff_attitude (suggested {advice.category})"


def test_suggestions_are_as_good_on_new_complaints_as_the_accuracy_shown(desk: Session) -> None:
    rng = np.random.default_rng(3)
    for text, category in labelled_complaints(400, rng):
        filed(desk, text, category)
    fresh = labelled_complaints(100, rng)
    right = [suggest_category(desk, text=text).category == category for text, category in fresh]
    shown = suggest_category(desk, text=fresh[0][0]).accuracy
    assert np.mean(right) > 0.7
    assert abs(np.mean(right) - shown) < 0.15
    case_id = filed(desk, complaint_text(CaseCategory.FRESHNESS, "en", rng), None)
    assert not desk.get_one(Case, case_id).category_confirmed
