"""Server time of `GET /v1/members/{id}/recommendations` on a scored chain.

The goal: under 10 ms an answer. The peer, in the same run and process: the member's
insights (`GET /v1/members/{id}/insights`), one indexed read of the same scoring run, so
the ratio is what reading and naming ten products costs on top of the API's fixed cost
(authentication, the unit of work, JSON).

Run from the repository on a database that `regulars analyze score` has scored (`make run`
leaves one): .venv/bin/python bench/recommendations.py [--database sqlite:///var/regulars.db]
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from regulars.access.models import Role
from regulars.access.service import create_key
from regulars.api.app import create_app
from regulars.config import Settings
from regulars.db import make_engine, make_sessionmaker
from regulars.insights.models import Recommendation


def timed(client: TestClient, paths: list[str], headers: dict[str, str]) -> list[float]:
    spent = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        spent.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite:///var/regulars.db")
    parser.add_argument("--members", type=int, default=500)
    args = parser.parse_args()
    sessions = make_sessionmaker(make_engine(args.database))
    with sessions() as session:
        members = sorted(
            {m for m in session.scalars(select(Recommendation.member_id)) if m is not None}
        )[: args.members]
        key = create_key(session, role=Role.SUPPORT, name="bench", now=datetime.now(UTC))[1]
        session.commit()
    assert members, "no recommendations stored: run regulars analyze score first"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", secret_key_file=Path(tmp) / "secret.key",
                            rate_limit_per_minute=10**6)  # fmt: skip
        client = TestClient(create_app(args.database, settings))
        headers = {"Authorization": f"Bearer {key}"}
        for kind in ("recommendations", "insights"):  # warm both
            timed(client, [f"/v1/members/{members[0]}/{kind}"] * 20, headers)
        ours = timed(client, [f"/v1/members/{m}/recommendations" for m in members], headers)
        peer = timed(client, [f"/v1/members/{m}/insights" for m in members], headers)
    for name, spent in (("recommendations", ours), ("insights (peer)", peer)):
        ms = sorted(s * 1000 for s in spent)
        p95 = ms[int(0.95 * len(ms))]
        print(f"{name:18} median {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  ({len(ms)})")
    ratio = statistics.median(ours) / statistics.median(peer)
    print(f"ratio of medians: {ratio:.2f}x the peer")


if __name__ == "__main__":
    main()
