"""The scheduler: due times in the chain's zone, each job once per due time, whatever happens."""

import json
import threading
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.audiences.service import save_audience
from regulars.audit.models import AuditEntry
from regulars.campaigns.models import Campaign, CampaignStatus
from regulars.campaigns.service import CampaignDraft, create_campaign
from regulars.cases.hours import set_opening_hours
from regulars.cases.levels import set_policy
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.service import NewCase, open_case
from regulars.config import Settings
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.members.models import ConsentChannel
from regulars.members.service import record_consent
from regulars.sales.rules import Limits
from regulars.sales.schemas import ReceiptIn, ReceiptLineIn
from regulars.sales.service import record_receipt
from regulars.scheduler.models import JobRun
from regulars.scheduler.schedule import DEFAULTS, Entry, load_schedule
from regulars.scheduler.service import LEASE, run_due
from regulars.surveys.models import SurveyTrigger
from regulars.surveys.service import SurveyDraft, create_survey
from tests.conftest import Database
from tests.factories import NOW, make_member, make_product, make_program, make_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOYALTY = tuple(entry for entry in DEFAULTS if entry.job in {"mature-points", "expire-points"})


def test_a_daily_job_is_due_at_its_local_time() -> None:
    entry = Entry("expire-points", time(0, 10))
    before = datetime(2026, 6, 14, 16, 9, tzinfo=UTC)  # 00:09 on 15 June in Shanghai
    after = before + timedelta(minutes=1)
    assert entry.latest_due(before, SHANGHAI) == datetime(2026, 6, 13, 16, 10, tzinfo=UTC)
    assert entry.latest_due(after, SHANGHAI) == after


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1)),
    st.sampled_from(["hour", "day", "month"]),
    st.integers(1, 28),
    st.times(),
)
def test_the_latest_due_time_is_the_last_one_not_after_now(
    moment: datetime, every: str, day: int, at: time
) -> None:
    now = moment.replace(tzinfo=UTC)
    entry = Entry("member-scores", at, every=every, day=day)  # type: ignore[arg-type]
    due = entry.latest_due(now, SHANGHAI)
    local = due.astimezone(SHANGHAI)
    assert due <= now
    if every == "hour":
        assert local.minute == at.minute
        assert now - due < timedelta(hours=1)
        return
    assert local.time() == at
    assert every == "day" or local.day == day
    assert now - due <= (timedelta(days=1) if every == "day" else timedelta(days=31))


def test_a_schedule_file_changes_the_defaults_and_refuses_unknown_jobs(tmp_path: Path) -> None:
    file = tmp_path / "schedule.toml"
    file.write_text('[jobs.warehouse-sync]\nat = "01:30"\n[jobs.member-scores]\nenabled = false\n')
    changed = {entry.job: entry for entry in load_schedule(file)}
    assert changed["warehouse-sync"].at == time(1, 30)
    assert not changed["member-scores"].enabled
    file.write_text("[jobs.wash-floors]\nat = '05:00'\n")
    with pytest.raises(InvalidInput, match="wash-floors"):
        load_schedule(file)


def _settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", warehouse_dir=tmp_path / "warehouse")


def _runs(database: Database) -> list[tuple[str, str]]:
    with database.sessions() as session:
        return [(r.job, r.status) for r in session.scalars(select(JobRun).order_by(JobRun.job))]


def test_each_job_runs_once_per_due_time_across_restarts(
    database: Database, tmp_path: Path
) -> None:
    run_in_transaction(database.sessions, make_program)
    settings = _settings(tmp_path)

    def tick(holder: str) -> list[str]:
        found = run_due(database.engine, settings, LOYALTY, clock=lambda: NOW, holder=holder)
        return [outcome.job for outcome in found]

    assert sorted(tick("first")) == ["expire-points", "mature-points"]
    assert tick("after a restart") == []
    assert _runs(database) == [("expire-points", "done"), ("mature-points", "done")]


def test_concurrent_schedulers_run_each_job_once(database: Database, tmp_path: Path) -> None:
    run_in_transaction(database.sessions, make_program)
    settings, ran, lock = _settings(tmp_path), [], threading.Lock()

    def scheduler(name: str) -> None:
        found = run_due(database.engine, settings, LOYALTY, clock=lambda: NOW, holder=name)
        with lock:
            ran.extend(outcome.job for outcome in found)

    threads = [threading.Thread(target=scheduler, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(ran) == ["expire-points", "mature-points"]


def test_a_dead_holder_is_taken_over_after_its_lease_and_failures_are_logged(
    database: Database, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    # No program yet: the jobs fail, and say why.
    failed = run_due(database.engine, settings, LOYALTY, clock=lambda: NOW, holder="a")
    assert {outcome.status for outcome in failed} == {"failed"}
    assert all("program" in outcome.report for outcome in failed)
    run_in_transaction(database.sessions, make_program)
    later = NOW + timedelta(days=1)
    with database.sessions() as session:  # a scheduler that died while running expire-points
        due = LOYALTY[1].latest_due(later, settings.zone)
        session.add(
            JobRun(job="expire-points", due_at=due, holder="dead:1", started_at=later,
                   lease_until=later + LEASE, status="running")
        )  # fmt: skip
        session.commit()
    alive = run_due(database.engine, settings, LOYALTY, clock=lambda: later, holder="b")
    assert [outcome.job for outcome in alive] == ["mature-points"]  # the lease still holds
    expired = later + LEASE + timedelta(seconds=1)
    taken = run_due(database.engine, settings, LOYALTY[1:], clock=lambda: expired, holder="c")
    assert [(o.job, o.status) for o in taken] == [("expire-points", "done")]


def test_the_hourly_marketing_job_sends_due_campaigns_invitations_and_unschedules_a_refused_one(
    database: Database, tmp_path: Path
) -> None:
    def setup(session: Session) -> None:
        make_program(session)
        member = make_member(session, "13800138000")
        record_consent(
            session, member_id=member.id, channel=ConsentChannel.SMS, granted=True,
            source="t", now=NOW,
        )  # fmt: skip
        everyone = {"kind": "tier", "values": ["regular"]}
        save_audience(session, name="all", definition=everyone, description="", now=NOW, actor="t")
        for name, channel, hours in (
            ("soon", ConsentChannel.SMS, 1), ("push", ConsentChannel.PUSH, 1),
            ("later", ConsentChannel.SMS, 30),
        ):  # fmt: skip
            draft = CampaignDraft(
                name=name, audience="all", channel=channel, body="hi", control_share=Decimal(0),
                scheduled_for=NOW + timedelta(hours=hours),
            )  # fmt: skip
            create_campaign(session, draft=draft, now=NOW, actor="t")
        survey = SurveyDraft(
            code="visit", title="满意度", title_en="Your visit", questions=["nps"],
            trigger=SurveyTrigger.PURCHASE, sample_percent=100,
        )  # fmt: skip
        create_survey(session, draft=survey, now=NOW)
        make_store(session, "S001")
        make_product(session, sku="RICE", price="30.00")
        bought = ReceiptIn(
            store_code="S001", pos_receipt_no="1", member_card=member.card_number, sold_at=NOW,
            lines=[ReceiptLineIn(sku="RICE", quantity=Decimal(1), unit_price=Decimal(30))],
        )  # fmt: skip
        record_receipt(session, receipt=bought, now=NOW, limits=Limits())

    run_in_transaction(database.sessions, setup)
    hourly = (Entry("marketing", time(0, 5), every="hour"),)
    at = NOW + timedelta(hours=2)
    [outcome] = run_due(database.engine, _settings(tmp_path), hourly, clock=lambda: at, holder="a")
    assert outcome.status == "done", outcome.report
    assert "campaign soon: 1 messages" in outcome.report
    assert "campaign push not sent: nobody in audience 'all'" in outcome.report
    assert "survey visit: 1 invited" in outcome.report
    with database.sessions() as session:
        status = {c.name: (c.status, c.scheduled_for) for c in session.scalars(select(Campaign))}
        assert status["soon"][0] is CampaignStatus.SENT
        assert status["push"] == (CampaignStatus.DRAFT, None)  # back among the drafts
        assert status["later"][0] is CampaignStatus.DRAFT
        assert status["later"][1] is not None
        refused = session.scalars(select(AuditEntry.object).where(AuditEntry.role == "scheduler"))
        assert [text.split(":")[0] for text in refused] == ["campaign=push"]


def test_the_sla_check_tells_the_service_desk_of_each_breach_once(
    database: Database, tmp_path: Path
) -> None:
    def setup(session: Session) -> int:
        make_program(session)
        make_store(session, "S001")
        set_opening_hours(session, store_code=None, hours={d: (time(0), time(0)) for d in range(7)})
        set_policy(
            session, category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
            first_response=timedelta(hours=1), resolution=timedelta(hours=4), now=NOW,
        )  # fmt: skip
        complaint = NewCase(
            channel=CaseChannel.HOTLINE, store_code="S001", category=CaseCategory.FRESHNESS,
            severity=Severity.HIGH, description="sour milk",
        )  # fmt: skip
        return open_case(session, case=complaint, now=NOW, actor="agent").id

    case_id = run_in_transaction(database.sessions, setup)
    settings = Settings(
        environment="test", warehouse_dir=tmp_path / "warehouse", outbox_dir=tmp_path / "outbox",
        escalation_email="desk@shop.example",
    )  # fmt: skip
    hourly = (Entry("sla-check", time(0, 10), every="hour"),)
    said = {
        2: "0 warnings, 1 breaches; 1 e-mailed, 0 not",  # the first response is late
        3: "0 warnings, 0 breaches",  # and is told once
    }
    for hours, report in said.items():
        at = NOW + timedelta(hours=hours)
        [outcome] = run_due(database.engine, settings, hourly, clock=lambda at=at: at, holder="a")
        assert (outcome.status, outcome.report) == ("done", report)
    mails = [json.loads(p.read_text()) for p in (tmp_path / "outbox" / "email").glob("*.json")]
    assert [(m["to"], m["subject"].split(":")[0]) for m in mails] == [
        ("desk@shop.example", f"[breach] case {case_id} (S001)")
    ]
