"""`regulars campaigns` and `regulars outbox`: define and send campaigns, read their results,
and deliver the messages waiting in the outbox."""

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from regulars.members.models import ConsentChannel
from regulars.terminal import as_of_or_now, console, open_database, reports_errors

if TYPE_CHECKING:
    from regulars.campaigns.service import Uplift

app = typer.Typer()
outbox_app = typer.Typer()


@app.command("create")
@reports_errors
def create_command(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    audience: Annotated[str, typer.Option(help="A saved audience's name.")],
    channel: Annotated[ConsentChannel, typer.Option(help="sms, email, push or wechat.")],
    body: Annotated[str, typer.Option(help="The message, e.g. '{name}, 200 bonus points'.")],
    subject: Annotated[str, typer.Option(help="E-mail: the subject.")] = "",
    coupon: Annotated[str | None, typer.Option(help="A coupon template to give each.")] = None,
    control: Annotated[float, typer.Option(help="The share held back, 0 to 0.5.")] = 0.2,
    window: Annotated[int, typer.Option(help="Days after the send that purchases count.")] = 14,
    at: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DDTHH:MM: the scheduler sends it then (default: by hand)."),
    ] = None,
) -> None:
    """Define a campaign; its message and coupon are checked now."""
    from regulars.campaigns.service import CampaignDraft, create_campaign
    from regulars.clock import moment_of, utc_now
    from regulars.config import get_settings
    from regulars.db import run_in_transaction

    when = moment_of(at, get_settings().zone, field="at") if at else None
    draft = CampaignDraft(
        name=name, audience=audience, channel=channel, body=body, subject=subject,
        coupon_template=coupon, control_share=Decimal(str(control)), window_days=window,
        scheduled_for=when,
    )  # fmt: skip
    run_in_transaction(
        open_database(), lambda s: create_campaign(s, draft=draft, now=utc_now(), actor="cli")
    )
    if when is None:
        console.print(f"campaign {name!r} ready; send it with: regulars campaigns send {name!r}")
    else:
        console.print(f"campaign {name!r} will be sent by the scheduler at {at}")


@app.command("send")
@reports_errors
def send_command(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Send without asking.")] = False,
) -> None:
    """Send a campaign to its audience as it is now, keeping its control group back."""
    from regulars.campaigns.optout import Links
    from regulars.campaigns.service import get_campaign, power_before_send, send_campaign
    from regulars.clock import utc_now
    from regulars.config import get_settings, secret_key
    from regulars.db import run_in_transaction

    sessions = open_database()
    with sessions() as session:
        campaign = get_campaign(session, name=name)
        power = power_before_send(session, name=name, now=utc_now())
    if not yes and not typer.confirm(
        f"send {name!r} to {power.audience:,} members of {campaign.audience!r}"
        f" ({float(campaign.control_share):.0%} held back; {power.base_rate:.1%} bought in the"
        f" last {campaign.window_days} days: these groups can show a rise of"
        f" {power.detectable_lift:.1%} at that rate, {power.worst_case_lift:.1%} at worst)?"
    ):
        raise typer.Exit(1)
    settings = get_settings()
    links = Links(settings.public_url, secret_key(settings))
    cap = settings.marketing_per_week
    sent = run_in_transaction(
        sessions,
        lambda s: send_campaign(s, name=name, now=utc_now(), weekly_cap=cap, links=links),
    )
    console.print(
        f"{sent.audience:,} in the audience, {sent.control:,} held back, "
        f"{sent.messages:,} messages in the outbox"
    )
    for reason, count in sent.skipped.items():
        console.print(f"  {count:,} got nothing: {reason}")


@app.command("results")
@reports_errors
def results_command(
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    as_of: Annotated[
        str | None, typer.Option(help="Count purchases up to this day (default: now).")
    ] = None,
) -> None:
    """What the campaign earned: each group in the window, and the difference it made."""
    from regulars.campaigns.service import campaign_results
    from regulars.config import get_settings

    margin = get_settings().gross_margin
    with open_database()() as session:
        found = campaign_results(session, name=name, now=as_of_or_now(as_of), gross_margin=margin)
    print_uplift(found, found.messages)


def print_uplift(found: "Uplift", messages: dict[str, int]) -> None:
    """Each group's figures, and the difference with its interval."""
    table = Table("", "treatment", "control")
    for label, attribute in (
        ("members", "members"), ("buyers", "buyers"), ("spend", "spend"),
        ("coupons redeemed", "coupons_redeemed"),
    ):  # fmt: skip
        t, c = getattr(found.treatment, attribute), getattr(found.control, attribute)
        table.add_row(label, f"{t:,}", f"{c:,}")
    console.print(table)
    conversion, spend = found.conversion, found.spend_per_member
    console.print(
        f"conversion: {conversion.value:+.2%} (95% interval {conversion.low:+.2%} to "
        f"{conversion.high:+.2%}){' significant' if conversion.significant else ''}"
    )
    console.print(
        f"spend per member: {spend.value:+.2f} (95% interval {spend.low:+.2f} to "
        f"{spend.high:+.2f}); incremental revenue {found.incremental_revenue:,.2f}"
    )
    console.print(
        f"cost {found.cost:,.2f}; incremental margin {found.incremental_margin:,.2f} at "
        f"{found.gross_margin:.0%}; net return {found.net_return:,.2f}"
    )
    console.print(f"smallest lift these groups can show: {found.detectable_lift:.2%}")
    console.print("messages: " + ", ".join(f"{k} {v:,}" for k, v in messages.items()))


@outbox_app.command("send")
@reports_errors
def outbox_command(
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep sending as messages fall due.")
    ] = False,
    pause: Annotated[float, typer.Option(help="--loop: seconds between rounds.")] = 10.0,
    batch: Annotated[int, typer.Option(min=1, help="Messages a round claims.")] = 500,
) -> None:
    """Deliver the messages that are due through the configured channels, round after
    round until none is left due."""
    from regulars.campaigns.channels import configured
    from regulars.campaigns.outbox import deliver
    from regulars.clock import utc_now
    from regulars.config import get_settings

    settings = get_settings()
    channels = configured(settings)
    sessions = open_database()
    while True:
        done = deliver(sessions, channels, now=utc_now(), zone=settings.zone, limit=batch)
        console.print(
            f"sent {done.sent:,}, to try again {done.retrying:,}, given up {done.dead:,}, "
            f"waiting for morning {done.waiting:,}"
            + "".join(f", {n:,} {reason}" for reason, n in done.dropped.items())
        )
        if done.claimed == batch:
            continue  # a full round: more may be due now
        if not loop:
            return
        time.sleep(pause)
