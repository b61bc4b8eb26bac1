import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from regulars.errors import InvalidInput
from regulars.insights.recommendations import Recommended, store_recommendations
from regulars.insights.schemas import MemberScores
from regulars.insights.service import NoInsights, member_insight, segment_counts, store_scores
from regulars.privacy.service import erase_member, export_member
from tests.factories import NOW, make_member, make_model_run, make_product


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


def test_an_erased_member_loses_their_scores_and_no_later_run_scores_them(
    session: Session,
) -> None:
    ann, bob = make_member(session, "13800138000"), make_member(session, "13800138001")
    scores = [
        MemberScores(member_id=ann.id, rfm_segment="Champions", churn_risk=0.1),
        MemberScores(member_id=bob.id, rfm_segment="Lost", churn_risk=0.9),
    ]
    store_scores(session, scores=scores, data_until=NOW, description={}, now=NOW)
    erase_member(session, member_id=bob.id, now=NOW)
    with pytest.raises(NoInsights):
        member_insight(session, member_id=bob.id)
    # Their receipts stay, so the next run finds them again: it keeps no profile of them.
    store_scores(session, scores=scores, data_until=NOW, description={}, now=NOW)
    with pytest.raises(NoInsights):
        member_insight(session, member_id=bob.id)
    assert member_insight(session, member_id=ann.id).rfm_segment == "Champions"
    assert {c.rfm_segment: c.members for c in segment_counts(session)} == {"Champions": 1}


def test_an_export_holds_the_members_scores_and_lists_until_they_are_erased(
    session: Session,
) -> None:
    ann = make_member(session)
    rice = make_product(session, sku="RICE", price="30.00").id
    store_scores(
        session,
        scores=[MemberScores(member_id=ann.id, rfm_segment="Champions", churn_risk=0.25)],
        data_until=NOW,
        description={},
        now=NOW,
    )
    run = make_model_run(session)
    store_recommendations(
        session, lists=[Recommended(ann.id, 1, rice, "buy_again", 0.8)], model_run_id=run
    )
    held = export_member(session, member_id=ann.id)
    assert held["scores"]["rfm_segment"] == "Champions"
    assert held["scores"]["churn_risk"] == 0.25
    assert held["recommended"] == [{"rank": 1, "sku": "RICE", "reason": "buy_again"}]
    assert held["offers"] == []
    erase_member(session, member_id=ann.id, now=NOW)
    gone = export_member(session, member_id=ann.id)
    assert (gone["scores"], gone["recommended"], gone["offers"]) == (None, [], [])
