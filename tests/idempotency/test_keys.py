from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from regulars.idempotency.service import Answer, Claim, IdempotencyKeyReused, claim, settle
from tests.factories import NOW

WINDOW = timedelta(hours=24)


def test_a_key_replays_its_answer_within_the_window_and_is_free_after_it(session: Session) -> None:
    first = Claim(caller="till-1", key="k1", request_hash="sale A")
    assert claim(session, first, now=NOW, window=WINDOW) is None
    settle(session, first, Answer(201, '{"receipt_id": 7}'))

    later = NOW + timedelta(hours=23)
    assert claim(session, first, now=later, window=WINDOW) == Answer(201, '{"receipt_id": 7}')
    other = Claim(caller="till-1", key="k1", request_hash="sale B")
    with pytest.raises(IdempotencyKeyReused):
        claim(session, other, now=later, window=WINDOW)
    # Another caller's key of the same name is its own.
    assert claim(session, Claim("till-2", "k1", "sale B"), now=later, window=WINDOW) is None

    # After the window the key starts afresh, for any request.
    after = NOW + WINDOW + timedelta(seconds=1)
    assert claim(session, other, now=after, window=WINDOW) is None
    settle(session, other, Answer(201, '{"receipt_id": 8}'))
    assert claim(session, other, now=after, window=WINDOW) == Answer(201, '{"receipt_id": 8}')
