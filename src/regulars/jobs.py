"""`regulars jobs run …`: the scheduled work of the program, safe to run again and again.

A job moves points and coupons, so it is guarded against an operator's slip: a date in
the future is refused unless asked for, and before it writes it shows what it will do and
asks (a nightly script says `--yes`); `--dry-run` shows the effect and writes nothing.
"""

from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from regulars.clock import moment_of, utc_now
from regulars.coupons.service import expire_coupons
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.points.bonuses import award_birthday_bonuses
from regulars.points.service import expire_points, mature_points
from regulars.program.service import active_program
from regulars.terminal import console, open_database, reports_errors
from regulars.tiers.service import review_tiers

app = typer.Typer()


class Job(StrEnum):
    MATURE_POINTS = "mature-points"
    EXPIRE_POINTS = "expire-points"
    TIER_REVIEW = "tier-review"
    EXPIRE_COUPONS = "expire-coupons"
    BIRTHDAY_BONUS = "birthday-bonus"


class DateInTheFuture(InvalidInput):
    code = "date_in_the_future"


def run_job(session: Session, job: Job, as_of_text: str, *, allow_future: bool = False) -> str:
    """Run `job` as of a moment; one that has not come yet only with `allow_future`."""
    version, program = active_program(session)
    as_of = moment_of(as_of_text, ZoneInfo(program.timezone), field="as_of")
    if as_of > utc_now() and not allow_future:
        raise DateInTheFuture(
            f"--as-of {as_of_text} has not come yet in {program.timezone}: the job would act "
            "on what is still valid; give --allow-future to run it anyway",
            field="as_of",
        )
    match job:
        case Job.MATURE_POINTS:
            lots, points = mature_points(session, as_of=as_of)
            return f"{points:,} points in {lots:,} lots became spendable"
        case Job.EXPIRE_POINTS:
            lots, points = expire_points(session, as_of=as_of)
            return f"{points:,} points in {lots:,} lots expired"
        case Job.TIER_REVIEW:
            counts = review_tiers(session, program=program, program_version=version, as_of=as_of)
            return ", ".join(f"{name} {count:,}" for name, count in counts.items())
        case Job.EXPIRE_COUPONS:
            return f"{expire_coupons(session, as_of=as_of):,} coupons expired"
        case Job.BIRTHDAY_BONUS:
            members, points = award_birthday_bonuses(session, program=program, as_of=as_of)
            return f"{points:,} birthday points to {members:,} members"


@app.command("run")
@reports_errors
def run_command(
    job: Annotated[Job, typer.Argument(help="Which job.")],
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD: the job runs as of the start of that day in the program's time zone.",
        ),
    ],
    allow_future: Annotated[
        bool, typer.Option("--allow-future", help="Run as of a date that has not come yet.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the job would do; write nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before writing.")] = False,
) -> None:
    """Run one job as of a date; running it again for the same date changes nothing."""
    sessions = open_database()

    def work(session: Session) -> str:
        return run_job(session, job, as_of, allow_future=allow_future)

    if dry_run or not yes:
        with sessions() as session:
            effect = work(session)
            session.rollback()
        if dry_run:
            console.print(f"{job} as of {as_of} (dry run, nothing written): {effect}")
            return
        console.print(f"{job} as of {as_of} will do this: {effect}")
        if not typer.confirm("Go ahead?", default=False):
            console.print("Nothing written.")
            raise typer.Exit(1)
    console.print(f"{job}: {run_in_transaction(sessions, work)}")
