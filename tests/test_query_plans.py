"""Pages that look at one member or one template stay fast on a big chain: their queries
are answered from an index, never by reading a whole table (SQLite's plan, checked;
PostgreSQL's planner reads the small tables of a test whole, whatever the indexes)."""

from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from regulars.coupons.models import Coupon, CouponStatus
from regulars.db import make_engine, upgrade_database
from regulars.members.models import Member


def plan(session: Session, query: object) -> str:
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return " | ".join(str(row[-1]) for row in rows)


def test_a_members_referrals_and_a_templates_coupons_are_counted_from_an_index(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    upgrade_database(engine)
    with Session(engine) as session:
        referred = select(func.count()).select_from(Member).where(Member.referred_by_id == 7)
        assert "USING COVERING INDEX" in plan(session, referred)
        used = select(
            Coupon.template_id, func.count().filter(Coupon.status == CouponStatus.REDEEMED)
        ).group_by(Coupon.template_id)
        assert "USING COVERING INDEX" in plan(session, used)
    engine.dispose()
