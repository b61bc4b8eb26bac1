"""What every console page shares: the request's transaction, the signed-in user and what
their role allows, CSRF and form tokens, and rendering in the user's language."""

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from regulars.analytics.report import reason_text, traits, words
from regulars.api.text import refuse_unstorable_text
from regulars.audit import service as audit
from regulars.clock import utc_now
from regulars.errors import InvalidInput, RegularsError, in_words
from regulars.i18n import LANGUAGES, Language, language
from regulars.idempotency.service import Answer, Claim, claim, settle
from regulars.staff.models import StaffRole, StaffUser
from regulars.staff.service import session_user

COOKIE = "regulars_session"
LANGUAGE_COOKIE = "regulars_language"  # the login page's language, before anyone signs in
DEFAULT_LANGUAGE = "zh-CN"  # a Chinese chain's console speaks Chinese unless told otherwise
Form = TypeVar("Form", bound=BaseModel)


def database(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed when the page or action succeeds, rolled
    back when anything fails, so a form never writes half of what it means."""
    request.state.after_commit = []  # what an action does once it holds, e.g. a cleanup
    with request.app.state.sessions() as session:
        yield session
        session.commit()
    for then in request.state.after_commit:
        then()


Db = Annotated[Session, Depends(database, scope="function")]


class LoginNeeded(Exception):
    """No open session: to the login page, and back here afterwards."""


class NotAllowed(Exception):
    """The user's role may not open this page or take this action."""


@dataclass(frozen=True)
class SignedIn:
    """Who is at the keyboard, as pages show them; kept apart from the database session,
    so that an error page can still say it after the transaction is gone."""

    id: int
    username: str
    display_name: str
    role: StaffRole


@dataclass(frozen=True)
class Allowed:
    """The roles that may use a route; the console's access matrix is read off these."""

    roles: frozenset[StaffRole]

    async def __call__(self, request: Request, session: Db) -> StaffUser:
        request.state.form = await request.form() if request.method == "POST" else {}
        token = request.cookies.get(COOKIE)
        user = session_user(session, token=token, now=utc_now()) if token else None
        if user is None:
            raise LoginNeeded
        request.state.user = SignedIn(user.id, user.username, user.display_name, user.role)
        request.state.t = language(user.language)
        if user.role not in self.roles:
            raise NotAllowed
        if request.method == "POST":
            _check_csrf(request)
        fields = {k: v for k, v in request.state.form.items() if isinstance(v, str)}
        refuse_unstorable_text(b"", {**request.query_params, **fields})
        return user


def allow(*roles: StaffRole) -> Any:
    """The signed-in user, if their role is one of `roles` (admin always is)."""
    return Depends(Allowed(frozenset({StaffRole.ADMIN, *roles})))


EVERYONE = tuple(StaffRole)


def csrf_token(request: Request) -> str:
    """Tied to the session: a form from another site cannot know it."""
    session_token = request.cookies.get(COOKIE, "")
    secret: bytes = request.app.state.secret
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


class CsrfRefused(RegularsError):
    code = "csrf_refused"
    status = 403


def _check_csrf(request: Request) -> None:
    sent = request.headers.get("x-csrf-token") or request.state.form.get("csrf", "")
    if not hmac.compare_digest(str(sent), csrf_token(request)):
        raise CsrfRefused("this form is out of date; reload the page and send it again")


def once(
    request: Request, session: Session, user: StaffUser, act: Callable[[], str]
) -> RedirectResponse:
    """Do a form's action once per form: the form's token is claimed in the action's own
    transaction, so a second submission (a double click, a reload) is sent where the first
    went and does nothing."""
    form = request.state.form
    fields = sorted((k, str(v)) for k, v in form.multi_items() if k not in {"csrf", "form_token"})
    digest = hashlib.sha256(repr((request.url.path, fields)).encode()).hexdigest()
    claimed = Claim(
        caller=f"console:{user.id}",
        key=str(form.get("form_token") or secrets.token_hex(16)),
        request_hash=digest,
    )
    answer = claim(
        session, claimed, now=utc_now(), window=request.app.state.settings.idempotency_window
    )
    if answer is not None:
        return RedirectResponse(answer.body, status_code=303)
    try:
        location = act()
    except RegularsError:
        session.rollback()  # neither the action nor its token: the corrected form may retry
        raise
    settle(session, claimed, Answer(303, location))
    return RedirectResponse(location, status_code=303)


def once_or_again(
    request: Request,
    session: Session,
    user: StaffUser,
    done: Callable[[], str],
    again: Callable[[dict[str, str], dict[str, str]], Response],
) -> Response:
    """A form's action done once (see `once`); refused, `again(errors, typed)` shows the page
    again with the error beside its field and what was typed. A refusal naming nothing
    that is not there (no such member, no such case) is the error page."""
    try:
        return once(request, session, user, done)
    except RegularsError as refused:
        if refused.field is None and refused.status == 404:
            raise
        typed = {k: str(v) for k, v in request.state.form.items() if k != "csrf"}
        return again(form_errors(request.state.t, refused), typed)


def _templates() -> jinja2.Environment:
    folder = files("regulars.console").joinpath("templates")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment


TEMPLATES = _templates()


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A page in the user's language, with what every page needs."""
    t: Language = getattr(request.state, "t", None) or language(login_language(request))
    user: SignedIn | None = getattr(request.state, "user", None)
    html = TEMPLATES.get_template(template).render(
        t=t,
        user=user,
        request=request,
        path=request.url.path,
        csrf=csrf_token(request) if user else "",
        form_token=secrets.token_hex(16),
        date=lambda d: format_date(d, "medium", locale=t.locale) if d else "",
        moment=lambda m: (
            format_datetime(
                m.astimezone(request.app.state.settings.zone), "medium", locale=t.locale
            )
            if m
            else ""
        ),
        words=lambda code: words(t, code),
        reason=lambda text: reason_text(t, text),
        traits=lambda description: traits(t, description),
        money=lambda amount: format_currency(
            amount, request.app.state.settings.currency, locale=t.locale
        ),
        **values,
    )
    return HTMLResponse(html, status_code=status)


def login_language(request: Request) -> str:
    """Before login: the language chosen in this browser, else the first of the browser's
    languages the console speaks, else Chinese."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for tag in request.headers.get("accept-language", "").split(","):
        primary = tag.split(";")[0].strip().lower()[:2]
        if primary in {"zh", "en"}:
            return "zh-CN" if primary == "zh" else "en"
    return DEFAULT_LANGUAGE


def to_login(request: Request) -> Response:
    """The login page, which returns to this page (for a form, to the page it was sent
    from: what it meant to do is asked again there); htmx is told to go there itself."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        sent_from = urlsplit(request.headers.get("referer", ""))
        same_site = sent_from.netloc == request.url.netloc
        here = sent_from.path if same_site and sent_from.path.startswith("/console") else "/console"
    target = f"/console/login?next={quote(here)}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def audit_action(
    request: Request, session: Session, user: StaffUser, action: str, status: int = 200, **ids: int
) -> None:
    """Keep in the audit log who did what to whom from the console."""
    audit.record(
        session,
        at=utc_now(),
        actor=user.username,
        role=f"staff:{user.role}",
        action=f"console {action}",
        object=",".join(f"{k}={v}" for k, v in sorted(ids.items())) or "-",
        status=status,
        request_id=request.state.request_id,
    )


class FormInvalid(InvalidInput):
    """A form with one or more fields wrong; `errors` holds each field's message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


def validated(model: type[Form], values: Mapping[str, object]) -> Form:
    """The form's values as `model`, or every field's error at once (a rule across fields
    is put beside the first field its message names)."""
    try:
        return model.model_validate(values)
    except ValidationError as invalid:
        errors: dict[str, str] = {}
        for problem in invalid.errors():
            message = in_words(problem)
            named = [str(problem["loc"][0])] if problem["loc"] else []
            named += [f for f in model.model_fields if re.search(rf"\b{f}\b", message)]
            errors.setdefault(named[0] if named else "form", message)
        raise FormInvalid(errors) from None


def form_errors(t: Language, refused: RegularsError) -> dict[str, str]:
    """A refusal's messages by field, in the user's language."""
    found = getattr(refused, "errors", None) or {refused.field or "form": refused.message}
    return {field: t.told(message) for field, message in found.items()}
