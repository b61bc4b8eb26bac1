"""Running what is due: take the lease on a job's due time, run it, record how it went.

Any number of scheduler processes may run: the first to insert the row of a job's due time
runs it; the others see the row and leave it. A process that dies while running leaves a
row whose lease runs out, and the next scheduler takes it over (every job is safe to run
again). A job that failed waits for its next due time; the log says why.
"""

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from regulars.config import Settings
from regulars.db import conflict_insert, make_sessionmaker, run_in_transaction, table
from regulars.errors import RegularsError
from regulars.jobs import Job, run_job
from regulars.scheduler.models import JobRun
from regulars.scheduler.schedule import Entry

LEASE = timedelta(hours=6)  # longer than any job takes; then a dead holder's run is taken over
Task = Callable[[Engine, Settings, datetime], str]  # runs a job as of its due time; a report


def _loyalty_job(job: Job) -> Task:
    def run(engine: Engine, settings: Settings, due: datetime) -> str:
        work = partial(run_job, job=job, as_of_text=due.isoformat())
        return run_in_transaction(make_sessionmaker(engine), work)

    return run


def _warehouse_sync(engine: Engine, settings: Settings, due: datetime) -> str:
    from regulars.analytics.warehouse import sync_warehouse

    copied = sync_warehouse(engine, settings.warehouse_dir).copied
    return ", ".join(f"{name} {rows:,}" for name, rows in copied.items()) + " new rows"


def _member_scores(engine: Engine, settings: Settings, due: datetime) -> str:
    from regulars.analytics.scoring import score_members

    scored = score_members(
        make_sessionmaker(engine),
        warehouse=settings.warehouse_dir,
        out=settings.warehouse_dir.parent / "analytics" / "scheduled",
        zone=settings.zone,
        now=due,
    )
    return f"{scored.members:,} members scored by run {scored.run_id}"


def _marketing(engine: Engine, settings: Settings, due: datetime) -> str:
    """Campaigns whose time has come, each in a transaction of its own (one refused goes
    back to the drafts), then every journey's entries and due steps, then the survey
    invitations due after purchases and closed cases."""
    from regulars.campaigns.optout import Links
    from regulars.campaigns.service import due_campaigns, send_campaign, unschedule_campaign
    from regulars.config import secret_key
    from regulars.journeys.service import run_journeys
    from regulars.surveys.service import send_invitations

    sessions = make_sessionmaker(engine)
    links = Links(settings.public_url, secret_key(settings))
    cap = settings.marketing_per_week
    said = []
    with sessions() as session:
        names = due_campaigns(session, now=due)
    for name in names:
        try:
            sent = run_in_transaction(
                sessions, partial(send_campaign, name=name, now=due, weekly_cap=cap, links=links)
            )
            said.append(f"campaign {name}: {sent.messages:,} messages")
        except RegularsError as refused:
            reason = refused.message
            run_in_transaction(
                sessions, partial(unschedule_campaign, name=name, reason=reason, now=due)
            )
            said.append(f"campaign {name} not sent: {reason}")
    runs = run_in_transaction(sessions, partial(run_journeys, now=due, weekly_cap=cap, links=links))
    said += [f"journey {r.journey}: {r.entered:,} entered" for r in runs]
    invited = run_in_transaction(
        sessions, partial(send_invitations, now=due, weekly_cap=cap, links=links)
    )
    said += [f"survey {code}: {n:,} invited" for code, n in invited.items()]
    return "; ".join(said) or "nothing due"


def _sla_check(engine: Engine, settings: Settings, due: datetime) -> str:
    """Warnings and breaches go on the cases, then to the service desk's mailbox
    (REGULARS_ESCALATION_EMAIL) through the e-mail channel, each under its own key."""
    from regulars.campaigns.channels import Outgoing, SendFailed, configured
    from regulars.campaigns.messages import message_key
    from regulars.cases.levels import check_service_levels
    from regulars.members.models import ConsentChannel

    done = run_in_transaction(make_sessionmaker(engine), partial(check_service_levels, now=due))
    said = f"{done.warned:,} warnings, {done.breached:,} breaches"
    if settings.escalation_email is None or not done.alerts:
        return said
    mail = configured(settings)[ConsentChannel.EMAIL]
    unsent = 0
    for alert in done.alerts:
        subject = f"[{alert.kind}] case {alert.case_id} ({alert.queue}): {alert.note}"
        body = f"{settings.public_url.rstrip('/')}/console/cases/{alert.case_id}"
        key = message_key(f"sla:{alert.case_id}:{alert.kind}:{alert.note}")
        try:
            mail.send(Outgoing(key, "email", settings.escalation_email, subject, body))
        except SendFailed:
            unsent += 1  # the case keeps the alert; the queue sees it in the console
    return f"{said}; {len(done.alerts) - unsent:,} e-mailed, {unsent:,} not"


TASKS: dict[str, Task] = {
    **{str(job): _loyalty_job(job) for job in Job},
    "warehouse-sync": _warehouse_sync,
    "member-scores": _member_scores,
    "marketing": _marketing,
    "sla-check": _sla_check,
}


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim(
    session: Session, *, job: str, due_at: datetime, holder: str, now: datetime
) -> int | None:
    """The id of the run this process may do now, or None when another has it or did it."""
    runs = table(JobRun).c
    fresh = (
        conflict_insert(session.get_bind().dialect.name, JobRun)
        .values(
            job=job,
            due_at=due_at,
            holder=holder,
            started_at=now,
            lease_until=now + LEASE,
            status="running",
        )
        .on_conflict_do_nothing(index_elements=["job", "due_at"])
        .returning(runs.id)
    )
    inserted = session.scalar(fresh)
    if inserted is not None:
        return inserted
    run = session.scalars(
        select(JobRun).where(JobRun.job == job, JobRun.due_at == due_at).with_for_update()
    ).one()
    if run.status != "running" or run.lease_until > now:
        return None
    run.holder, run.started_at, run.lease_until = holder, now, now + LEASE  # its holder died
    return run.id


def finish(session: Session, *, run_id: int, status: str, report: str, now: datetime) -> None:
    run = session.get_one(JobRun, run_id)
    run.status, run.report, run.finished_at = status, report[:2000], now


@dataclass(frozen=True)
class Outcome:
    job: str
    due_at: datetime
    status: str
    report: str


def run_due(
    engine: Engine,
    settings: Settings,
    schedule: tuple[Entry, ...],
    *,
    clock: Callable[[], datetime],
    holder: str,
) -> list[Outcome]:
    """Run every enabled job whose latest due time nobody has run yet; what happened."""
    sessions = make_sessionmaker(engine)
    outcomes = []
    for entry in (entry for entry in schedule if entry.enabled):
        due = entry.latest_due(clock(), settings.zone)
        take = partial(claim, job=entry.job, due_at=due, holder=holder, now=clock())
        run_id = run_in_transaction(sessions, take)
        if run_id is None:
            continue
        try:
            report, status = TASKS[entry.job](engine, settings, due), "done"
        except Exception as error:  # noqa: BLE001 - a failed job is logged; the others still run
            report, status = f"{type(error).__name__}: {error}".strip(), "failed"
        done = partial(finish, run_id=run_id, status=status, report=report, now=clock())
        run_in_transaction(sessions, done)
        outcomes.append(Outcome(entry.job, due, status, report))
    return outcomes


def recent_runs(session: Session, *, limit: int = 20) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def last_successes(session: Session) -> dict[str, datetime]:
    """When each job last finished well: for monitoring."""
    query = select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.status == "done")
    rows = session.execute(query.group_by(JobRun.job))
    return {job: finished for job, finished in rows if finished is not None}
