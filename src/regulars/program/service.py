"""Use cases of the program: apply a new version, read the active one."""

import difflib
import json
import tomllib
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.coupons.models import CouponTemplate
from regulars.errors import InvalidInput, NotFound, problems_in_words
from regulars.program.models import ProgramVersion
from regulars.program.schema import Program
from regulars.promotions.service import ensure_usage_rows
from regulars.rewards.service import ensure_stock_rows
from regulars.stamps.service import copy_of, renew

PROGRAM = "program"  # the stamp applying a program renews


class InvalidProgram(InvalidInput):
    code = "invalid_program"


class NoProgram(NotFound):
    code = "no_program"


def parse_program(text: str) -> Program:
    """Read and validate a program file; errors name the key, e.g. `tiers.2.min_spend`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidProgram(f"not valid TOML: {exc}") from exc
    try:
        program = Program.model_validate(raw)
    except ValidationError as exc:
        problems, first = problems_in_words(exc.errors(), "program")
        raise InvalidProgram(problems, field=first or None) from exc
    try:
        ZoneInfo(program.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidProgram(f"unknown time zone {program.timezone!r}", field="timezone") from exc
    return program


def apply_program(session: Session, *, text: str, now: datetime, actor: str) -> ProgramVersion:
    """Store a new version and make it the active one; earlier receipts keep theirs."""
    program = parse_program(text)
    _check_coupon_templates(session, program)
    version = ProgramVersion(
        name=program.name,
        definition=program.model_dump_json(),
        source=text,
        applied_at=now,
        applied_by=actor,
    )
    session.add(version)
    session.flush()
    renew(session, PROGRAM)
    ensure_usage_rows(session, program.promotions)
    ensure_stock_rows(session, program.rewards)
    return version


def _check_coupon_templates(session: Session, program: Program) -> None:
    """A program may only hand out coupons whose templates exist, or sales would fail later."""
    named = {
        f"tiers.{i}.upgrade_coupon": t.upgrade_coupon
        for i, t in enumerate(program.tiers)
        if t.upgrade_coupon
    }
    named |= {
        f"rewards.{i}.coupon_template": r.coupon_template
        for i, r in enumerate(program.rewards)
        if r.coupon_template
    }
    known = set(
        session.scalars(
            select(CouponTemplate.code).where(CouponTemplate.code.in_(set(named.values())))
        )
    )
    for field, code in named.items():
        if code not in known:
            raise InvalidProgram(
                f"{field}: no coupon template {code!r}; create it first", field=field
            )


def active_version(session: Session) -> ProgramVersion:
    version = session.scalars(select(ProgramVersion).order_by(ProgramVersion.id.desc())).first()
    if version is None:
        raise NoProgram("no program applied yet; run `regulars program apply FILE`")
    return version


def load_program(version: ProgramVersion) -> Program:
    return _parsed(version.id, version.definition)


@lru_cache(maxsize=16)
def _parsed(version_id: int, definition: str) -> Program:
    """Programs are frozen, so every sale under a version can share one parsed copy."""
    return Program.model_validate(json.loads(definition))


def active_program(session: Session) -> tuple[int, Program]:
    """The active version number and its program, read once per process and version."""

    def read(session: Session) -> tuple[int, Program]:
        version = active_version(session)
        return version.id, load_program(version)

    return copy_of(session, PROGRAM, read)


def program_versions(session: Session) -> list[ProgramVersion]:
    """Every version ever applied, newest first."""
    return list(session.scalars(select(ProgramVersion).order_by(ProgramVersion.id.desc())))


def version_change(session: Session, *, version_id: int) -> tuple[ProgramVersion, list[str]]:
    """A version and the lines of its program file that changed from the version before."""
    version = session.get(ProgramVersion, version_id)
    if version is None:
        raise NotFound(f"no program version {version_id}", field="version")
    earlier = session.scalars(
        select(ProgramVersion.source)
        .where(ProgramVersion.id < version_id)
        .order_by(ProgramVersion.id.desc())
        .limit(1)
    ).first()
    lines = difflib.unified_diff(
        (earlier or "").splitlines(),
        version.source.splitlines(),
        f"version {version_id - 1}" if earlier is not None else "nothing",
        f"version {version_id}",
        lineterm="",
    )
    return version, list(lines)
