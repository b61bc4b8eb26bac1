"""Server time of every console page on a big chain, and of the member search.

The goal: every page in under 300 ms on 1,000,000 members and 20 million lines, the member
search in under 100 ms. The chain is the one bench/pipeline.py builds (built here if it is
not there yet), synced to its warehouse and scored once. Each page is asked for once to
warm the process's caches, then `--repeat` times; the median and the slowest are printed.

The peer, in the same run: the login page, which renders a template of the same layout and
touches no data, so the ratio is what the page's own work costs on top of the console's
fixed cost (routing, session, template).

Run from the repository: .venv/bin/python bench/console.py [--members 1000000] [--reuse]
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from regulars.analytics.scoring import score_members
from regulars.analytics.warehouse import sync_warehouse
from regulars.api.app import create_app
from regulars.config import Settings
from regulars.db import make_engine, make_sessionmaker
from regulars.demo.writers import DEMO_STAFF_PASSWORD
from regulars.insights.models import MemberInsight, ModelRun
from regulars.members.models import Member
from regulars.program.models import ProgramVersion

HERE = Path(__file__).parent


def prepare(db: Path, warehouse: Path, args: argparse.Namespace) -> None:
    """The chain, its warehouse and one scoring run, each made only when missing."""
    if not (args.reuse and db.exists()):
        build = [sys.executable, str(HERE / "pipeline.py"), "--build-only"]
        build += ["--members", str(args.members), "--months", str(args.months), "--db", str(db)]
        subprocess.run(build, check=True)
    engine = make_engine(f"sqlite:///{db}")
    if not (args.reuse and (warehouse / "_state.json").exists()):
        started = time.perf_counter()
        sync_warehouse(engine, warehouse)
        print(f"warehouse synced in {time.perf_counter() - started:.0f} s", flush=True)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        scored = session.scalar(select(ModelRun.id).limit(1))
        now = session.scalar(select(ProgramVersion.applied_at).limit(1))
    if scored is None:
        started = time.perf_counter()
        score_members(
            sessions,
            warehouse=warehouse,
            out=warehouse.parent / "console-scores",
            zone=Settings().zone,
            now=now,
        )
        print(f"members scored in {time.perf_counter() - started:.0f} s", flush=True)
    engine.dispose()


def timed(client: TestClient, path: str, repeat: int) -> list[float]:
    """Milliseconds of the first request (cold: nothing kept yet), then of `repeat` more."""
    spent = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        answer = client.get(path)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return spent


def logged_in(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    answer = client.post(
        "/console/login", data={"username": username, "password": DEMO_STAFF_PASSWORD}
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the chain, warehouse, scores")
    args = parser.parse_args()
    folder = Path("/tmp/regulars-bench")
    db = folder / f"console-{args.members}-{args.months}.db"
    warehouse = folder / f"console-warehouse-{args.members}"
    prepare(db, warehouse, args)

    settings = Settings(warehouse_dir=warehouse, secret_key_file=folder / "secret.key")
    app = create_app(f"sqlite:///{db}", settings)
    with make_sessionmaker(make_engine(f"sqlite:///{db}"))() as session:
        member = session.scalars(select(Member).where(Member.name.is_not(None)).limit(1)).one()
        card, phone, name = member.card_number, member.phone, member.name
        segment = session.scalar(select(MemberInsight.rfm_segment).limit(1))
        version = session.scalar(select(func.max(ProgramVersion.id)))
        members = session.scalar(select(func.count()).select_from(Member))
    print(f"chain: {members:,} members in {db}")

    pages = {
        "admin": [
            "/console",
            "/console?days=7&channel=store",
            "/console?region=East",
            f"/console/members/{member.id}",
            "/console/segments",
            f"/console/segments/{segment}/members",
            "/console/program",
            f"/console/program/versions/{version}",
            "/console/coupons",
            "/console/reports",
            "/console/reports/1",
            "/console/users",
        ],
        "manager": ["/console", "/console/reports"],
        "support": [
            f"/console/members?q={quote(card)}",
            f"/console/members?q={quote(str(phone))}",
            f"/console/members?q={quote(str(name))}",
        ],
    }
    hidden = {quote(card): "<card>", quote(str(phone)): "<phone>", quote(str(name)): "<name>"}
    peer = statistics.median(timed(TestClient(app), "/console/login", args.repeat * 4)[1:])
    print(f"peer, the login page: median {peer:.1f} ms")
    print(f"{'page':<56} {'first ms':>9} {'then, median':>12} {'slowest':>8} {'ratio':>6}  goal")
    for username, paths in pages.items():
        client = logged_in(app, username)
        for path in paths:
            first, *spent = timed(client, path, args.repeat)
            median = statistics.median(spent)
            goal = 100 if "?q=" in path else 300
            mark = "ok" if max(spent) < goal else f"OVER {goal}"
            mark += "" if first < goal else " (first)"
            shown = path
            for value, label in hidden.items():
                shown = shown.replace(value, label)
            print(
                f"{username + ' ' + shown:<56} {first:9.1f} {median:12.1f} {max(spent):8.1f} "
                f"{median / peer:6.1f}  {mark}",
                flush=True,
            )


if __name__ == "__main__":
    main()
