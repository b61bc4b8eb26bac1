from sqlalchemy.orm import Session

from regulars.points.opening import open_balances
from regulars.points.schemas import OpeningBalanceIn
from regulars.sales.service import UnknownMemberCard
from tests.factories import NOW, ZONE, make_member


def test_a_balance_file_larger_than_a_query_may_name_is_read_whole(session: Session) -> None:
    """Databases cap the values one statement may carry (SQLite at 32,766): a carry-over of
    a whole chain's members must not run into it."""
    member = make_member(session)
    rows = [OpeningBalanceIn(member_card=f"{n:017d}", points=10) for n in range(70_000)]
    rows.append(OpeningBalanceIn(member_card=member.card_number, points=250))
    outcomes = open_balances(session, balances=rows, now=NOW, zone=ZONE)
    assert len(outcomes) == 70_001
    assert all(isinstance(o, UnknownMemberCard) for o in outcomes[:-1])
    assert not isinstance(outcomes[-1], Exception)
