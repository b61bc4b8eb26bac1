"""Stored recommendation lists: a member's own, or the popular list and said so."""

import pytest
from sqlalchemy.orm import Session

from regulars.errors import InvalidInput
from regulars.insights.recommendations import (
    Recommended,
    recommendations_of,
    store_recommendations,
)
from regulars.privacy.service import erase_member
from tests.factories import NOW, make_member, make_model_run, make_product


def test_a_member_reads_their_list_and_one_unknown_to_the_run_the_popular_one(
    session: Session,
) -> None:
    known, stranger = make_member(session, "13800138000"), make_member(session, "13800138001")
    rice = make_product(session, sku="RICE", price="30.00").id
    eggs = make_product(session, sku="EGGS", price="15.80").id
    milk = make_product(session, sku="MILK", price="12.00").id
    lists = [
        Recommended(known.id, 2, eggs, "also_like", 0.4),
        Recommended(known.id, 1, rice, "buy_again", 0.9),
        Recommended(None, 1, milk, "popular", 120),
    ]
    assert store_recommendations(session, lists=lists, model_run_id=make_model_run(session)) == 3
    own, popular = recommendations_of(session, member_id=known.id)
    assert ([(s.sku, s.reason) for s in own], popular) == (
        [("RICE", "buy_again"), ("EGGS", "also_like")],
        False,
    )
    theirs, popular = recommendations_of(session, member_id=stranger.id)
    assert ([s.sku for s in theirs], popular) == (["MILK"], True)
    assert [s.sku for s in recommendations_of(session, member_id=known.id, limit=1)[0]] == ["RICE"]
    erase_member(session, member_id=known.id, now=NOW)
    assert recommendations_of(session, member_id=known.id)[1] is True  # their list went too
    store_recommendations(session, lists=lists, model_run_id=make_model_run(session))
    assert recommendations_of(session, member_id=known.id)[1] is True  # and stays gone
    again = [Recommended(None, 1, eggs, "popular", 99)]
    store_recommendations(session, lists=again, model_run_id=make_model_run(session))
    assert recommendations_of(session, member_id=known.id) == (
        recommendations_of(session, member_id=stranger.id)
    )  # the new run replaced the old lists


def test_a_list_with_an_unknown_reason_is_refused(session: Session) -> None:
    rice = make_product(session, sku="RICE", price="30.00").id
    with pytest.raises(InvalidInput, match="reason 'hunch'"):
        store_recommendations(
            session,
            lists=[Recommended(None, 1, rice, "hunch", 1.0)],
            model_run_id=make_model_run(session),
        )
