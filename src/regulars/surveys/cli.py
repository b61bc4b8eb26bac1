"""`regulars surveys`: define surveys from a file, invite an audience, send the invitations
that are due, and list the surveys with their answers so far."""

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from regulars.terminal import as_of_or_now, console, open_database, reports_errors

if TYPE_CHECKING:
    from regulars.analytics.scores import Estimate
    from regulars.campaigns.optout import Links

app = typer.Typer()


@app.command("create")
@reports_errors
def create_command(
    file: Annotated[Path, typer.Argument(help="The survey in TOML.", exists=True)],
) -> None:
    """Define a survey from a file (code, titles, trigger, questions, points, sampling)."""
    from pydantic import ValidationError

    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.errors import InvalidInput, problems_in_words
    from regulars.surveys.schemas import SurveyIn
    from regulars.surveys.service import SurveyDraft, create_survey

    try:
        data = SurveyIn.model_validate(tomllib.loads(file.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as broken:
        raise InvalidInput(f"{file.name} is not TOML: {broken}", field="file") from None
    except ValidationError as invalid:
        problems, first = problems_in_words(invalid.errors(), "survey")
        raise InvalidInput(problems, field=first or None) from None
    draft = SurveyDraft(**data.model_dump())
    survey = run_in_transaction(
        open_database(), lambda s: create_survey(s, draft=draft, now=utc_now())
    )
    console.print(f"survey {survey.code!r} ({survey.trigger}) is active")


@app.command("list")
@reports_errors
def list_command() -> None:
    """Every survey: its trigger, whether it invites, invitations and answers so far."""
    from sqlalchemy import func, select

    from regulars.surveys.models import SurveyInvitation, SurveyResponse
    from regulars.surveys.service import list_surveys

    table = Table("survey", "trigger", "active", "invited", "answered", "questions")
    with open_database()() as session:
        for survey in list_surveys(session):
            counts = [
                session.scalar(select(func.count()).where(model.survey_id == survey.id)) or 0
                for model in (SurveyInvitation, SurveyResponse)
            ]
            table.add_row(
                survey.code, survey.trigger, "yes" if survey.active else "paused",
                *(f"{n:,}" for n in counts), survey.questions,
            )  # fmt: skip
    console.print(table)


def _links_and_cap() -> tuple["Links", int]:
    from regulars.campaigns.optout import Links
    from regulars.config import get_settings, secret_key

    settings = get_settings()
    return Links(settings.public_url, secret_key(settings)), settings.marketing_per_week


@app.command("invite")
@reports_errors
def invite_command(
    code: Annotated[str, typer.Argument(help="The survey's code.")],
    audience: Annotated[str, typer.Option(help="A saved audience's name.")],
) -> None:
    """Invite an audience's members (with consent, outside the survey's frequency cap)."""
    from regulars.clock import utc_now
    from regulars.db import run_in_transaction
    from regulars.surveys.service import invite_audience

    links, cap = _links_and_cap()
    invited = run_in_transaction(
        open_database(),
        lambda s: invite_audience(
            s, code=code, audience=audience, now=utc_now(), weekly_cap=cap, links=links
        ),
    )
    console.print(f"{invited:,} members invited to {code!r}")


@app.command("send")
@reports_errors
def send_command(
    as_of: Annotated[
        str | None, typer.Option(help="As of this moment (YYYY-MM-DD[THH:MM]); default now.")
    ] = None,
) -> None:
    """The invitations due after purchases and closed cases (the hourly job does this)."""
    from regulars.db import run_in_transaction
    from regulars.surveys.service import send_invitations

    links, cap = _links_and_cap()
    now = as_of_or_now(as_of)
    sent = run_in_transaction(
        open_database(), lambda s: send_invitations(s, now=now, weekly_cap=cap, links=links)
    )
    for code, invited in sent.items():
        console.print(f"{code}: {invited:,} invited")
    if not sent:
        console.print("no survey invites after purchases or cases")


@app.command("results")
@reports_errors
def results_command(
    as_of: Annotated[
        str | None, typer.Option(help="Last day counted (YYYY-MM-DD); default the last sale.")
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="The warehouse folder (default: the configured one).")
    ] = None,
    against_demo_truth: Annotated[
        bool, typer.Option(help="On a demo database: compare the drivers with the true ones.")
    ] = False,
) -> None:
    """NPS and CSAT with intervals by store, region, tier and month; what drives them; how
    promoters and detractors shopped afterwards (from the warehouse: sync it first)."""
    from scipy.stats import spearmanr
    from sqlalchemy import select

    from regulars.analytics.options import parse_optional_day
    from regulars.analytics.rfm import rfm_table
    from regulars.analytics.satisfaction import satisfaction
    from regulars.analytics.transactions import last_purchase_day
    from regulars.analytics.warehouse import open_warehouse
    from regulars.config import get_settings
    from regulars.demo.models import DemoDriverTruth

    connection = open_warehouse(warehouse or get_settings().warehouse_dir, materialise=True)
    day = parse_optional_day(as_of, "as_of") or last_purchase_day(connection)
    with console.status("weighing the answers"):
        found = satisfaction(connection, as_of=day, rfm=rfm_table(connection, as_of=day))

    def shown(e: "Estimate | None", scale: float = 1) -> str:
        if e is None:
            return ""
        interval = ""
        if e.low is not None and e.high is not None:
            interval = f" [{e.low * scale:.1f}, {e.high * scale:.1f}]"
        return f"{e.value * scale:.1f}{interval}"

    scores = Table("by", "group", "NPS", "CSAT", "answers", title=f"{found.answers:,} answers")
    scores.add_row("all", "", shown(found.nps, 100), shown(found.csat), str(found.answers))
    for grouping, rows in found.by.items():
        for g in rows:
            n = g.nps.n if g.nps else 0
            scores.add_row(grouping, g.label, shown(g.nps, 100), shown(g.csat), f"{n:,}")
    console.print(scores)
    if found.trend is not None:
        t = found.trend
        console.print(
            f"NPS moves {t.per_month * 100:+.1f} points a month "
            f"[{t.low * 100:.1f}, {t.high * 100:.1f}] over {t.months} months"
        )
    truth = {}
    if against_demo_truth:
        with open_database()() as session:
            truth = {r.attribute: r.weight for r in session.scalars(select(DemoDriverTruth))}
    for driver in found.drivers:
        table = Table(
            "attribute", "importance", "95% interval", "share", "quadrant",
            title=f"what drives {driver.target} (R² {driver.r2:.2f}, {driver.answers:,} answers)",
        )  # fmt: skip
        quadrant = {row.name: row.quadrant.advice for row in driver.grid}
        for row in driver.importance:
            interval = f"{row.low:.3f} to {row.high:.3f}" if row.low is not None else ""
            table.add_row(
                row.name, f"{row.importance:.3f}", interval, f"{row.share:.0%}", quadrant[row.name]
            )
        console.print(table)
        if truth and driver.target == "overall":
            names = [row.name for row in driver.importance]
            rho = spearmanr([r.importance for r in driver.importance], [truth[n] for n in names])
            console.print(f"Spearman with the demo's true drivers: {rho.statistic:.3f}")
    if found.behaviour is not None:
        table = Table("group", "members", "spend after", "bought nothing",
                      title=f"the {found.behaviour.horizon_days} days after answering")  # fmt: skip
        for o in found.behaviour.outcomes:
            table.add_row(o.group, f"{o.members:,}", shown(o.spend), shown(o.lapsed, 100) + " %")
        console.print(table)
