"""How long an audience takes to count on a big chain: the goal is under 5 s on 1,000,000
members. The chain is bench/console.py's (built and scored there).

The peer, in the same run: a bare `SELECT count(*)` over the active members, the least any
audience query does.

Run from the repository: .venv/bin/python bench/audiences.py [--members 1000000]
"""

import argparse
import time
from pathlib import Path

from sqlalchemy import func, select

from regulars.audiences.service import count_members, parse_condition
from regulars.db import make_engine, make_sessionmaker
from regulars.members.models import Member, MemberStatus
from regulars.program.models import ProgramVersion

AUDIENCES = {
    "silver or better, by WeChat": {
        "kind": "all",
        "of": [
            {"kind": "tier", "values": ["silver", "gold", "diamond"]},
            {"kind": "consent", "values": ["wechat"]},
        ],
    },
    "quiet for 30 days, at risk": {
        "kind": "all",
        "of": [
            {"kind": "days_since_purchase", "min": 30},
            {"kind": "rfm_segment", "values": ["At Risk", "Can't Lose Them", "Hibernating"]},
        ],
    },
    "points lapsing within 60 days": {"kind": "points_expiring", "days": 60, "min": 100},
    "bought baby goods, 3 visits in 90 days": {
        "kind": "all",
        "of": [
            {"kind": "bought", "categories": ["BABY"], "days": 90},
            {"kind": "visits", "days": 90, "min": 3},
        ],
    },
    "birthday in March or churn risk over 0.7": {
        "kind": "any",
        "of": [
            {"kind": "birthday_month", "values": ["3"]},
            {"kind": "churn_risk", "min": 0.7},
        ],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=1)
    args = parser.parse_args()
    db = Path("/tmp/regulars-bench") / f"console-{args.members}-{args.months}.db"
    if not db.exists():
        raise SystemExit(f"no chain at {db}: run bench/console.py first")
    sessions = make_sessionmaker(make_engine(f"sqlite:///{db}"))
    with sessions() as session:
        now = session.scalar(select(func.max(ProgramVersion.applied_at)))
        started = time.perf_counter()
        active = session.scalar(select(func.count()).where(Member.status == MemberStatus.ACTIVE))
        peer = time.perf_counter() - started
        print(f"peer, bare count of the {active:,} active members: {peer * 1000:.0f} ms")
        for name, definition in AUDIENCES.items():
            started = time.perf_counter()
            members = count_members(session, parse_condition(definition), now=now)
            spent = time.perf_counter() - started
            mark = "ok" if spent < 5 else "OVER 5 s"
            print(f"{name:<42} {members:>9,} members {spent:6.2f} s  {spent / peer:6.0f}x  {mark}")


if __name__ == "__main__":
    main()
