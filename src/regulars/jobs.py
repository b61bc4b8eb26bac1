"""`regulars jobs run …`: the scheduled work of the program, safe to run again and again."""

from datetime import datetime, time
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from regulars.console import console, open_database, reports_errors
from regulars.coupons.service import expire_coupons
from regulars.db import run_in_transaction
from regulars.errors import InvalidInput
from regulars.points.bonuses import award_birthday_bonuses
from regulars.points.service import expire_points, mature_points
from regulars.program.service import active_program
from regulars.tiers.service import review_tiers

app = typer.Typer(help="Scheduled jobs: points, tiers, coupons and birthdays.")


class Job(StrEnum):
    MATURE_POINTS = "mature-points"
    EXPIRE_POINTS = "expire-points"
    TIER_REVIEW = "tier-review"
    EXPIRE_COUPONS = "expire-coupons"
    BIRTHDAY_BONUS = "birthday-bonus"


def as_of_moment(text: str, zone: ZoneInfo) -> datetime:
    """A date means the start of that day in the program's zone; a full time is taken as given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"--as-of {text!r} is not a date (YYYY-MM-DD)", field="as_of") from exc
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def run_job(session: Session, job: Job, as_of_text: str) -> str:
    version, program = active_program(session)
    as_of = as_of_moment(as_of_text, ZoneInfo(program.timezone))
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
) -> None:
    """Run one job as of a date; running it again for the same date changes nothing."""
    report = run_in_transaction(open_database(), lambda session: run_job(session, job, as_of))
    console.print(f"{job}: {report}")
