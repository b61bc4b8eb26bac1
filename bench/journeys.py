"""How long `run_journeys` takes on a big chain: letting members in and taking their steps,
one journey at a time. The chain is bench/console.py's (1,000,000 members; built there,
migrated to the current schema with `regulars db upgrade`).

Three journeys, each timed on its own:
  birthday         members born this month: an SMS, then 50 bonus points (each audited)
  win-back         members whose last purchase is 60 days old or older: an SMS
  points expiring  members whose points lapse within the program's reminder_days: an SMS

The chain's own month leaves nobody away for 60 days and no points left to lapse (its
opening balances expired on its last day), so the win-back runs 40 days after the chain's
last day (those who last bought before about October 12th are away), and the points
journey runs two weeks before that expiry, with the expiry undone.

Everything happens in one transaction that is rolled back at the end, each journey in a
savepoint rolled back before the next: the chain is left as it was, and a second run gives
the same result.

The peer, in the same run: one bare SQL count of the members the journey's trigger finds
(the active members born this month; those whose last receipt is old enough; those with
points lapsing), the least a run that lets those members in does.

Run from the repository (the chain's personal data is sealed with var/data-keys.json):
  .venv/bin/python bench/journeys.py [--members 1000000] [--only birthday ...]
"""

import argparse
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

HERE = Path(__file__).parent
FOLDER = Path("/tmp/regulars-bench")
# The keys the chain was sealed with and the secret it was built with (bench/console.py runs
# from the repository with the defaults): set before regulars reads its settings.
os.environ.setdefault("REGULARS_DATA_KEYS_FILE", str(HERE.parent / "var" / "data-keys.json"))
os.environ.setdefault("REGULARS_SECRET_KEY_FILE", str(FOLDER / "secret.key"))

from regulars.campaigns.optout import Links  # noqa: E402
from regulars.config import get_settings, secret_key  # noqa: E402
from regulars.db import ensure_migrated, make_engine, make_sessionmaker  # noqa: E402
from regulars.journeys.models import Journey  # noqa: E402
from regulars.journeys.service import create_journey, run_journeys  # noqa: E402
from regulars.members.models import Member, MemberStatus  # noqa: E402
from regulars.points.models import EntryKind, PointEntry, PointLot  # noqa: E402
from regulars.program.models import ProgramVersion  # noqa: E402
from regulars.program.service import active_program  # noqa: E402
from regulars.sales.models import Receipt  # noqa: E402

BIRTHDAY = """\
name = "bench: birthday"
trigger = "birthday"

[[steps]]
do = "send"
channel = "sms"
body = "{name}，生日快乐！本月到{store}消费享双倍积分，另送您50积分。"
translations.en.body = "Happy birthday, {name}! Double points at {store} this month, and 50 on us."

[[steps]]
do = "points"
points = 50
"""

WIN_BACK = """\
name = "bench: win-back"
trigger = "win_back"
days = 60

[[steps]]
do = "send"
channel = "sms"
body = "{name}，已经{days_away}天没见到您了，{store}想念您。"
translations.en.body = "{name}, we have not seen you for {days_away} days at {store}."
"""

POINTS_EXPIRING = """\
name = "bench: points expiring"
trigger = "points_expiring"

[[steps]]
do = "send"
channel = "sms"
body = "{name}，您有{expiring_points}积分将于{expiry_date}前到期，到店消费即可抵现。"
translations.en.body = "{name}, {expiring_points} points lapse by {expiry_date}: spend them."
"""

ACTIVE = Member.status == MemberStatus.ACTIVE
WIN_BACK_LATER = timedelta(days=40)  # after the chain's last day
POINTS_BEFORE = timedelta(days=14)  # before its opening balances lapse


@dataclass(frozen=True)
class Case:
    name: str
    definition: str
    when: Callable[[Session, datetime], datetime]  # the run's now, from the chain's
    peer: Callable[[Session, datetime], int]  # the bare count, as of the run's now
    prepare: Callable[[Session], None] = lambda session: None


def born_this_month(session: Session, now: datetime) -> int:
    month = now.astimezone(get_settings().zone).month
    return session.scalar(select(func.count()).where(ACTIVE, Member.birth_month == month)) or 0


def away_60_days(session: Session, now: datetime) -> int:
    last = (
        select(Receipt.member_id)
        .where(Receipt.member_id.is_not(None))
        .group_by(Receipt.member_id)
        .having(func.max(Receipt.sold_at) <= now - timedelta(days=60))
        .subquery()
    )
    counted = select(func.count()).select_from(last).join(Member, Member.id == last.c.member_id)
    return session.scalar(counted.where(ACTIVE)) or 0


def points_lapsing(session: Session, now: datetime) -> int:
    days = active_program(session)[1].expiry.reminder_days
    lapsing = (
        select(func.count(PointLot.member_id.distinct()))
        .join(Member, Member.id == PointLot.member_id)
        .where(
            ACTIVE,
            PointLot.remaining > 0,
            PointLot.expires_at > now,
            PointLot.expires_at <= now + timedelta(days=days),
        )
    )
    return session.scalar(lapsing) or 0


def undo_expiry(session: Session) -> None:
    """The lots the chain's expiry emptied hold their points again (rolled back later)."""
    expired = select(PointEntry.lot_id).where(PointEntry.kind == EntryKind.EXPIRE)
    session.execute(
        update(PointLot).where(PointLot.id.in_(expired)).values(remaining=PointLot.points)
    )


def before_lapse(session: Session, now: datetime) -> datetime:
    expired = select(PointEntry.lot_id).where(PointEntry.kind == EntryKind.EXPIRE)
    lapse = session.scalar(select(func.max(PointLot.expires_at)).where(PointLot.id.in_(expired)))
    return (lapse or now) - POINTS_BEFORE


CASES = [
    Case("birthday", BIRTHDAY, lambda s, now: now, born_this_month),
    Case("win-back", WIN_BACK, lambda s, now: now + WIN_BACK_LATER, away_60_days),
    Case("points expiring", POINTS_EXPIRING, before_lapse, points_lapsing, undo_expiry),
]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_case(session: Session, case: Case, chain_now: datetime, links: Links) -> None:
    savepoint = session.begin_nested()
    try:
        case.prepare(session)
        now = case.when(session, chain_now)
        started = time.perf_counter()
        expected = case.peer(session, now)
        peer = time.perf_counter() - started
        create_journey(session, definition=case.definition, now=now, actor="bench")
        started = time.perf_counter()
        (run,) = run_journeys(
            session, now=now, weekly_cap=get_settings().marketing_per_week, links=links
        )
        spent = time.perf_counter() - started
    finally:
        savepoint.rollback()
        session.expunge_all()
    mark = "" if run.entered == expected else f"  (the peer counts {expected:,})"
    day = now.astimezone(get_settings().zone).date()
    print(
        f"{case.name:<16} {day} {run.entered:>9,} {spent:9.1f} {peer:8.2f} "
        f"{spent / peer:7.0f}x {peak_mib():8.0f}{mark}",
        flush=True,
    )
    did = ", ".join(f"{count:,} {result}" for result, count in sorted(run.steps.items()))
    print(f"{'':<16} {run.held_back:,} held back; {did}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--only", choices=[c.name for c in CASES], action="append")
    args = parser.parse_args()
    db = FOLDER / f"console-{args.members}-{args.months}.db"
    if not db.exists():
        raise SystemExit(f"no chain at {db}: run bench/console.py first")
    engine = make_engine(f"sqlite:///{db}")
    ensure_migrated(engine)
    settings = get_settings()
    links = Links(settings.public_url, secret_key(settings))
    with make_sessionmaker(engine)() as session:
        try:
            chain_now = session.scalar(select(func.max(ProgramVersion.applied_at)))
            assert chain_now is not None
            named = session.scalars(select(Member.name).where(Member.name.is_not(None)).limit(1))
            named.first()  # the data keys open the chain's personal data, or this fails
            members = session.scalar(select(func.count()).select_from(Member))
            session.execute(update(Journey).values(active=False))  # only ours run
            print(f"chain: {members:,} members in {db}, its now {chain_now:%Y-%m-%d %H:%M} UTC")
            print(
                f"{'journey':<16} {'as of':<10} {'entered':>9} {'run s':>9} {'peer s':>8} "
                f"{'ratio':>8} {'peak MiB':>8}"
            )
            for case in CASES:
                if args.only is None or case.name in args.only:
                    run_case(session, case, chain_now, links)
        finally:
            session.rollback()
    engine.dispose()
    print(f"peak memory: {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
