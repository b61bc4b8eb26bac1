"""`regulars keys …` and `regulars audit tail`: who may call the API, and what they did."""

from typing import Annotated

import typer
from rich.table import Table

from regulars.access.models import Role
from regulars.access.service import create_key, list_keys, revoke_key
from regulars.audit.schemas import AuditEntryOut
from regulars.audit.service import AuditFilter, latest
from regulars.clock import moment_of, utc_now
from regulars.config import get_settings
from regulars.db import run_in_transaction, session_scope
from regulars.terminal import console, open_database, reports_errors

keys_app = typer.Typer()
audit_app = typer.Typer()


@keys_app.command("create")
@reports_errors
def create_command(
    role: Annotated[
        Role, typer.Option(help="admin, pos (one store's till), support, analyst or app.")
    ],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "",
    store: Annotated[str | None, typer.Option(help="pos keys: the store code.")] = None,
) -> None:
    """Create a key and print it once; only its hash is kept."""
    key, text = run_in_transaction(
        open_database(),
        lambda s: create_key(
            s, role=role, name=name or f"{role} key", now=utc_now(), store_code=store
        ),
    )
    console.print(f"key {key.id} ({key.role}, {key.name}), shown once, store it now:")
    console.print(text, soft_wrap=True, highlight=False)


@keys_app.command("list")
@reports_errors
def list_command() -> None:
    """Every key, revoked ones included."""
    table = Table("id", "name", "role", "store", "created", "revoked")
    with session_scope(open_database()) as session:
        for key, store in list_keys(session):
            table.add_row(
                str(key.id),
                key.name,
                str(key.role),
                store or "",
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            )
    console.print(table)


@keys_app.command("revoke")
@reports_errors
def revoke_command(key_id: Annotated[int, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key at once."""
    run_in_transaction(open_database(), lambda s: revoke_key(s, key_id=key_id, now=utc_now()))
    console.print(f"key {key_id} revoked")


@audit_app.command("tail")
@reports_errors
def tail_command(
    lines: Annotated[int, typer.Option("-n", min=1, help="How many entries.")] = 20,
    actor: Annotated[str | None, typer.Option(help="Only this actor's entries.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only actions containing this, e.g. erase.")
    ] = None,
    member: Annotated[int | None, typer.Option(help="Only entries naming this member id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only from this day or moment on (local time).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The latest entries of the audit log, oldest first."""
    settings = get_settings()
    found = AuditFilter(
        actor=actor,
        action=action,
        member_id=member,
        since=moment_of(since, settings.zone, field="since") if since else None,
    )
    with session_scope(open_database()) as session:
        entries = [AuditEntryOut.model_validate(e) for e in latest(session, found, limit=lines)]
    if as_json:
        for entry in entries:
            console.out(entry.model_dump_json(), highlight=False)
        return
    table = Table("at", "actor", "role", "action", "object", "status", "request")
    for entry in entries:
        table.add_row(
            f"{entry.at.astimezone(settings.zone):%Y-%m-%d %H:%M:%S}",
            entry.actor,
            entry.role,
            entry.action,
            entry.object,
            str(entry.status),
            entry.request_id,
        )
    console.print(table)
