"""Issuing a template to many members at once, as a campaign or a segment does."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from regulars.coupons.models import CouponKind
from regulars.coupons.schemas import CouponTemplateCreate
from regulars.coupons.service import CouponLimitReached, add_template, issue_coupons
from regulars.members.schemas import MemberCreate
from regulars.members.service import enroll_members
from tests.factories import NOW, ZONE


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, sql, *_rest) -> None:  # type: ignore[no-untyped-def]
        seen.append(sql)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def many_members(session: Session, count: int) -> list[int]:
    new = [MemberCreate(phone=f"1390000{n:04d}") for n in range(count)]
    outcomes = enroll_members(session, members=new, now=NOW, source="test", region="CN", zone=ZONE)
    return [o.id for o in outcomes]  # type: ignore[union-attr]


def test_many_members_get_their_coupon_checked_against_the_limit_in_a_few_statements(
    session: Session,
) -> None:
    template = CouponTemplateCreate(
        code="SPRING", name="Spring", kind=CouponKind.AMOUNT_OFF, amount=Decimal(5),
        per_member_limit=2,
    )  # fmt: skip
    add_template(session, data=template, now=NOW)
    members = many_members(session, 1_500)
    issue_coupons(session, template_code="SPRING", member_ids=members[:1], now=NOW, source="t")
    with statements(session) as seen:
        issued = issue_coupons(
            session, template_code="SPRING", member_ids=members, now=NOW, source="t"
        )
    assert len(issued) == 1_500
    limit_checks = [sql for sql in seen if "count(" in sql.lower()]
    assert len(limit_checks) <= 2  # not one a member
    with pytest.raises(CouponLimitReached, match=f"member {members[0]} would hold 3"):
        issue_coupons(session, template_code="SPRING", member_ids=members[:2], now=NOW, source="t")
    twice = [members[5], members[5]]  # asked twice in one go: counted twice
    with pytest.raises(CouponLimitReached, match=f"member {members[5]} would hold 3"):
        issue_coupons(session, template_code="SPRING", member_ids=twice, now=NOW, source="t")
