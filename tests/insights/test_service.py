import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from regulars.errors import InvalidInput
from regulars.insights.schemas import MemberScores
from regulars.insights.service import NoInsights, member_insight, segment_counts, store_scores
from tests.factories import NOW, make_member


def test_a_run_replaces_the_scores_of_the_members_it_scored_only(session: Session) -> None:
    ann, bob = make_member(session, "13800138000"), make_member(session, "13800138001")
    first = store_scores(
        session,
        scores=[
            MemberScores(member_id=ann.id, rfm_segment="Champions", clv=120.5, churn_risk=0.1),
            MemberScores(member_id=bob.id, rfm_segment="Lost", clv=3.0, churn_risk=0.9),
        ],
        data_until=NOW - timedelta(days=1),
        description={"models": ["rfm"]},
        now=NOW,
    )
    second = store_scores(
        session,
        scores=[MemberScores(member_id=bob.id, rfm_segment="At Risk", probability_alive=0.4)],
        data_until=NOW,
        description={"models": ["rfm", "bgnbd"]},
        now=NOW + timedelta(days=7),
    )
    assert member_insight(session, member_id=ann.id).model_run_id == first.id
    bobs = member_insight(session, member_id=bob.id)
    assert (bobs.model_run_id, bobs.rfm_segment, bobs.clv) == (second.id, "At Risk", None)
    assert bobs.probability_alive == 0.4
    assert bobs.scored_at == NOW + timedelta(days=7)
    assert json.loads(second.description)["models"] == ["rfm", "bgnbd"]
    counts = {c.rfm_segment: c.members for c in segment_counts(session)}
    assert counts == {"Champions": 1, "At Risk": 1}


def test_scores_for_unknown_or_repeated_members_are_refused_whole(session: Session) -> None:
    ann = make_member(session)
    for scores in (
        [MemberScores(member_id=ann.id), MemberScores(member_id=ann.id + 999)],
        [MemberScores(member_id=ann.id), MemberScores(member_id=ann.id)],
    ):
        with pytest.raises(InvalidInput) as refused:
            store_scores(session, scores=scores, data_until=NOW, description={}, now=NOW)
        assert refused.value.field == "scores"
    with pytest.raises(NoInsights):
        member_insight(session, member_id=ann.id)
