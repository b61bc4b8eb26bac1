import csv
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from regulars.audit.service import record
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.service import NewCase, open_case
from regulars.checkout.models import CommittedSale
from regulars.cli import app
from regulars.clock import utc_now
from regulars.config import get_settings
from regulars.db import make_engine, make_sessionmaker, upgrade_database
from regulars.points.models import PointLot
from regulars.sales.models import Receipt
from tests.factories import make_store

runner = CliRunner()


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("REGULARS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_an_unmigrated_database_is_one_clear_line_and_exit_code_1(
    configured: str, tmp_path: Path
) -> None:
    source = tmp_path / "members.csv"
    source.write_text("phone\n13800138000\n")
    result = runner.invoke(app, ["import", "members", str(source)])
    assert result.exit_code == 1
    assert "database_not_ready" in result.output
    assert "regulars db upgrade" in result.output


def test_a_database_behind_the_code_is_refused_until_upgraded(configured: str) -> None:
    upgrade_database(make_engine(configured), "0007_member_insights")
    refused = runner.invoke(app, ["program", "show"])
    assert refused.exit_code == 1
    assert "run `regulars db upgrade` first" in refused.output
    assert "Traceback" not in refused.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert "no program applied yet" in runner.invoke(app, ["program", "show"]).output


def test_upgrade_demo_and_import_round_trip(configured: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    out = tmp_path / "chain"
    small = ["demo", "generate", "--members", "50", "--months", "1", "--stores", "2"]
    small += ["--until", "2026-06-01"]
    generated = runner.invoke(app, [*small, "--out", str(out)])
    assert generated.exit_code == 0, generated.output
    loaded = runner.invoke(app, small)
    assert loaded.exit_code == 0, loaded.output
    refused = runner.invoke(app, ["demo", "generate", "--members", "5", "--until", "2026-06-01"])
    assert refused.exit_code == 1
    assert "empty database" in refused.output
    skipped = runner.invoke(app, ["demo", "generate", "--if-empty"])
    assert skipped.exit_code == 0
    assert "nothing generated" in skipped.output
    sessions = make_sessionmaker(make_engine(configured))
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Receipt))
    again = runner.invoke(app, ["import", "receipts", str(out / "receipt_lines.parquet")])
    assert again.exit_code == 1, again.output  # the till-priced copies are rejected, below
    assert re.search(r"records written\s+0\s", again.output)
    # The demo sold its last week through the till, whose offers priced those receipts
    # anew: the files' copies of them differ, are refused as conflicts, and overwrite nothing.
    with (out / "receipt_lines.parquet.rejects.csv").open() as rejects:
        reasons = {row["reason"] for row in csv.DictReader(rejects)}
    assert reasons, again.output
    assert all(
        reason.endswith("already recorded with different content")
        or reason.startswith("another row of receipt")
        for reason in reasons
    )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == before
        till_sold = session.scalar(select(func.count()).select_from(CommittedSale))
    unchanged = re.search(r"already present, unchanged\s+([\d,]+)\s", again.output)
    assert unchanged is not None
    assert int(unchanged.group(1).replace(",", "")) >= (before or 0) - (till_sold or 0)


def test_an_unreachable_database_is_reported_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Port 9 on loopback has no server: the connection is refused at once.
    monkeypatch.setenv("REGULARS_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    result = runner.invoke(app, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "database_not_ready" in result.output
    assert "Traceback" not in result.output


def test_keys_are_printed_once_whole_and_can_be_revoked(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(app, ["keys", "create", "--role", "support", "--name", "agent 7"])
    assert created.exit_code == 0, created.output
    [key] = [line for line in created.output.splitlines() if line.startswith("rgl_")]
    assert len(key) > 50
    listed = runner.invoke(app, ["keys", "list"])
    assert "agent 7" in listed.output
    assert key not in listed.output
    assert runner.invoke(app, ["keys", "revoke", "1"]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "99"]).exit_code == 1
    refused = runner.invoke(app, ["keys", "create", "--role", "pos"])
    assert refused.exit_code == 1
    assert "bound to one store" in refused.output
    with make_sessionmaker(make_engine(configured))() as session:
        make_store(session, "S042")
        session.commit()
    till = runner.invoke(app, ["keys", "create", "--role", "pos", "--store", "S042"])
    assert till.exit_code == 0, till.output
    assert re.search(r"pos key\s+│ pos\s+│ S042", runner.invoke(app, ["keys", "list"]).output)


def _points_left(url: str) -> int:
    with make_sessionmaker(make_engine(url))() as session:
        return int(session.scalar(select(func.sum(PointLot.remaining))) or 0)


def test_a_job_in_the_future_is_refused_and_a_writing_job_asks_first(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    small = ["demo", "generate", "--members", "40", "--months", "1", "--stores", "2"]
    assert runner.invoke(app, small).exit_code == 0
    held = _points_left(configured)
    assert held > 0
    far = (date.today() + timedelta(days=3 * 366)).isoformat()
    expire = ["jobs", "run", "expire-points", "--as-of", far]

    refused = runner.invoke(app, expire)
    assert refused.exit_code == 1
    assert "date_in_the_future" in refused.output
    assert "--allow-future" in refused.output
    dry = runner.invoke(app, [*expire, "--allow-future", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{held:,} points in" in dry.output
    assert "nothing written" in dry.output
    declined = runner.invoke(app, [*expire, "--allow-future"], input="n\n")
    assert declined.exit_code == 1
    assert "will do this" in declined.output
    assert "Nothing written" in declined.output
    assert _points_left(configured) == held

    confirmed = runner.invoke(app, [*expire, "--allow-future"], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert _points_left(configured) == 0
    again = runner.invoke(app, [*expire, "--allow-future", "--yes"])
    assert again.exit_code == 0
    assert "0 points in 0 lots expired" in again.output


def test_an_import_with_rejects_fails_the_script_and_keeps_every_row_as_written(
    configured: str, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    source = tmp_path / "members.csv"
    source.write_text(
        "phone,name\n"
        "138 0013 8000,Li Na\n"
        "+86 138 0013 8000,Zhang San\n"  # the same phone: refused when written
        '13800138001,"Wang, Wei",extra\n'  # three fields: refused when read
        ",\n"
        "13800138002,Zhao Liu\n"
    )
    failed = runner.invoke(app, ["import", "members", str(source)])
    assert failed.exit_code == 1
    assert "rows_rejected: 2 of 4 rows" in failed.output
    assert re.search(r"blank rows, skipped\s+1", failed.output)
    with (tmp_path / "members.csv.rejects.csv").open() as handle:
        rejects = list(csv.reader(handle))
    assert [row[0] for row in rejects[1:]] == ["3", "4"]
    assert rejects[2][2:] == ["13800138001", "Wang, Wei", "extra"]
    accepted = runner.invoke(app, ["import", "members", str(source), "--allow-rejects"])
    assert accepted.exit_code == 0, accepted.output
    assert re.search(r"already present, unchanged\s+2", accepted.output)


def test_no_command_but_db_upgrade_creates_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGULARS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    listed = runner.invoke(app, ["keys", "list"])
    get_settings.cache_clear()
    assert listed.exit_code == 1
    assert f"no database at {tmp_path / 'var' / 'regulars.db'}" in listed.output.replace("\n", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "not_loaded"),
    [
        ([], {"sqlalchemy", "duckdb", "fastapi", "sklearn", "scipy", "pydantic_settings"}),
        (["version"], {"sqlalchemy", "duckdb", "fastapi", "sklearn", "scipy"}),
        (["keys", "--help"], {"duckdb", "fastapi", "sklearn", "scipy"}),
        (["analyze", "rfm", "--help"], {"fastapi", "sklearn", "scipy"}),
    ],
)
def test_a_command_imports_only_what_it_uses(command: list[str], not_loaded: set[str]) -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from regulars.cli import app\n"
        f"CliRunner().invoke(app, {command!r})\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert not not_loaded & set(loaded)


def test_the_scheduler_runs_what_is_due_once_and_shows_its_log(
    configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(app, ["scheduler", "run", "--once"])
    assert first.exit_code == 1  # no program yet: the loyalty jobs fail, and say so
    assert "expire-points due" in first.output
    assert "failed" in first.output
    again = runner.invoke(app, ["scheduler", "run", "--once"])
    assert again.exit_code == 0
    assert "due" not in again.output.split("\n", 1)[1]  # nothing ran twice
    log = runner.invoke(app, ["scheduler", "runs"])
    assert log.exit_code == 0
    assert all(job in log.output for job in ("mature-points", "tier-review", "warehouse-sync"))
    shown = runner.invoke(app, ["scheduler", "show"])
    assert "member-scores" in shown.output


def test_audit_tail_filters_and_speaks_json_with_whole_request_ids(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    written = [
        ("agent 7", "POST /v1/members/{member_id}/erase", "member_id=7", "a" * 40),
        ("agent 7", "GET /v1/members/{member_id}", "member_id=17", "b" * 40),
        ("till 1", "POST /v1/receipts", "member_id=7,receipt_id=3", "c" * 40),
    ]
    sessions = make_sessionmaker(make_engine(configured))
    with sessions() as session:
        for n, (actor, action, named, request_id) in enumerate(written):
            at = datetime(2026, 6, 1 + n, 4, tzinfo=UTC)
            record(session, at=at, actor=actor, role="support", action=action, object=named,
                   status=200, request_id=request_id)  # fmt: skip
        session.commit()
    as_json = runner.invoke(app, ["audit", "tail", "--member", "7", "--json"])
    assert as_json.exit_code == 0, as_json.output
    lines = [json.loads(line) for line in as_json.output.splitlines()]
    assert [line["request_id"] for line in lines] == ["a" * 40, "c" * 40]
    table = runner.invoke(app, ["audit", "tail", "--actor", "agent 7", "--since", "2026-06-02"])
    assert "b" * 40 in table.output  # whole, not cut to the terminal's 80 columns
    assert "a" * 40 not in table.output
    for extreme in ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00"):
        refused = runner.invoke(app, ["audit", "tail", "--since", extreme])
        assert refused.exit_code == 1, refused.output
        assert "error invalid_input (since)" in refused.output


def test_staff_accounts_are_made_listed_and_disabled(configured: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    password = "correct horse battery\n" * 2
    made = runner.invoke(
        app, ["users", "create", "li.na", "--role", "support", "--name", "Li Na"], input=password
    )
    assert made.exit_code == 0, made.output
    assert "correct horse" not in made.output
    short = runner.invoke(app, ["users", "create", "wang", "--role", "analyst"], input="abc\nabc\n")
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output
    assert runner.invoke(app, ["users", "disable", "li.na"]).exit_code == 0
    listed = runner.invoke(app, ["users", "list"]).output
    assert re.search(r"li\.na\s+│ Li Na\s+│ support\s+│\s+│ zh-CN", listed)
    assert "wang" not in listed


def test_audiences_are_saved_counted_and_listed(configured: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    generated = ["demo", "generate", "--members", "60", "--months", "2", "--stores", "2"]
    assert runner.invoke(app, generated).exit_code == 0
    definition = tmp_path / "lapsing.json"
    definition.write_text(json.dumps({"kind": "days_since_purchase", "min": 30}))
    saved = runner.invoke(app, ["audiences", "create", "lapsing", str(definition)])
    assert saved.exit_code == 0, saved.output
    members = int(re.search(r"saved: ([\d,]+) members", saved.output).group(1))  # type: ignore[union-attr]
    counted = runner.invoke(app, ["audiences", "count", '{"kind": "audience", "name": "lapsing"}'])
    assert counted.output.strip() == f"{members:,} members"
    everyone = runner.invoke(
        app,
        [
            "audiences",
            "count",
            '{"kind": "tier", "values": ["regular", "silver", "gold", "diamond"]}',
        ],
    )
    assert int(everyone.output.split()[0].replace(",", "")) == 60 > members
    assert re.search(
        rf"lapsing\s+│\s+{members}\b", runner.invoke(app, ["audiences", "list"]).output
    )
    wrong = runner.invoke(app, ["audiences", "count", "no-such-file.json"])
    assert wrong.exit_code == 1
    assert "no file" in wrong.output
    assert "Traceback" not in wrong.output


def test_a_campaign_is_defined_sent_delivered_and_measured_from_the_command_line(
    configured: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGULARS_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    generated = ["demo", "generate", "--members", "80", "--months", "2", "--stores", "2"]
    assert runner.invoke(app, generated).exit_code == 0
    agreed = '{"kind": "consent", "values": ["wechat"]}'
    assert runner.invoke(app, ["audiences", "create", "wechat", agreed]).exit_code == 0
    unknown = runner.invoke(
        app,
        ["campaigns", "create", "hello", "--audience", "wechat", "--channel", "wechat",
         "--body", "{name}, your {balance}"],
    )  # fmt: skip
    assert unknown.exit_code == 1
    assert "{balance}" in unknown.output
    made = runner.invoke(
        app,
        ["campaigns", "create", "hello", "--audience", "wechat", "--channel", "wechat",
         "--body", "{name}, you hold {points} points", "--control", "0.25"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    asked = runner.invoke(app, ["campaigns", "send", "hello"], input="n\n")
    assert asked.exit_code == 1
    earlier = runner.invoke(app, ["outbox", "send"])  # what the demo's journeys left there
    assert earlier.exit_code == 0, earlier.output
    files = tmp_path / "outbox" / "wechat"
    before = len(list(files.glob("*.json")))
    sent = runner.invoke(app, ["campaigns", "send", "hello", "--yes"])
    assert sent.exit_code == 0, sent.output
    messages = int(re.search(r"([\d,]+) messages in the outbox", sent.output).group(1))  # type: ignore[union-attr]
    assert messages > 0
    # A worker is a process of its own, which loads only what its command uses.
    delivered = subprocess.run(
        [sys.executable, "-c", "from regulars.cli import app; app()", "outbox", "send",
         "--batch", "7"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert delivered.returncode == 0, delivered.stderr
    rounds = re.findall(r"sent ([\d,]+).*waiting for morning ([\d,]+)", delivered.stdout)
    assert len(rounds) > messages // 7, delivered.stdout  # round after round, until none is due
    sent_now = sum(int(sent.replace(",", "")) for sent, _ in rounds)
    waiting = sum(int(later.replace(",", "")) for _, later in rounds)
    assert sent_now + waiting == messages  # at night in Shanghai, marketing waits
    assert len(list(files.glob("*.json"))) == before + sent_now
    results = runner.invoke(app, ["campaigns", "results", "hello"])
    assert results.exit_code == 0, results.output
    assert "conversion:" in results.output
    assert "smallest lift these groups can show" in results.output


def test_business_hours_service_levels_and_the_case_queue_from_the_command_line(
    configured: str, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    stores = tmp_path / "stores.csv"
    stores.write_text("code,name,region,channel,timezone\nS001,Central,East,store,Asia/Shanghai\n")
    assert runner.invoke(app, ["import", "stores", str(stores)]).exit_code == 0
    wrong = runner.invoke(app, ["cases", "hours", "weekdays 9-18"])
    assert wrong.exit_code == 1
    assert "'mon-fri 09:00-18:00'" in wrong.output
    hours = runner.invoke(app, ["cases", "hours", "mon-fri 09:00-18:00", "sat 10:00-16:00"])
    assert hours.exit_code == 0, hours.output
    assert "6 open days a week" in hours.output
    assert (
        runner.invoke(app, ["cases", "closed-day", "2027-02-06", "Spring Festival"]).exit_code == 0
    )
    policy = runner.invoke(
        app, ["cases", "policy", "freshness", "high", "--first-response", "120",
              "--resolution", "480"],
    )  # fmt: skip
    assert policy.exit_code == 0, policy.output
    with make_sessionmaker(make_engine(configured))() as session:
        case = NewCase(channel=CaseChannel.HOTLINE, store_code="S001",
                       category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
                       description="sour milk")  # fmt: skip
        opened = open_case(session, case=case, now=utc_now() - timedelta(days=10), actor="t")
        session.commit()
    listed = runner.invoke(app, ["cases", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{opened.id}" in listed.output
    assert "!due" in listed.output  # ten days old, never answered: late
    checked = runner.invoke(app, ["cases", "check"])
    assert "0 warnings, 2 breaches" in checked.output
    again = runner.invoke(app, ["cases", "check"])
    assert "0 warnings, 0 breaches" in again.output
