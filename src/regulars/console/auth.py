"""Logging in and out, and the language the console speaks to each user."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from regulars.api.dependencies import RateLimiter, TooManyRequests
from regulars.clock import utc_now
from regulars.console.core import (
    COOKIE,
    EVERYONE,
    LANGUAGE_COOKIE,
    Db,
    allow,
    login_language,
    render,
)
from regulars.i18n import LANGUAGES, language
from regulars.staff.models import StaffUser
from regulars.staff.service import LONGEST, LoginRefused, log_in, log_out, set_language

router = APIRouter(prefix="/console", include_in_schema=False)
FAILED_LOGINS_PER_NAME = 5  # a minute; then that name waits, whatever the password


def _next(target: str | None) -> str:
    """Where to go after login: only a console page of this site."""
    if not target or not target.startswith("/console") or urlsplit(target).netloc:
        return "/console"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    session: Db,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    limits: tuple[RateLimiter, RateLimiter] = request.app.state.console_logins
    by_address, by_name = limits
    address = request.client.host if request.client else "unknown"
    t = language(login_language(request))
    try:
        by_address.refuse_if_full(address)
        by_name.refuse_if_full(username.strip().lower())
        token = log_in(session, username=username, password=password, now=utc_now())
    except (LoginRefused, TooManyRequests) as refused:
        if isinstance(refused, LoginRefused):
            by_address.check(address)
            by_name.check(username.strip().lower())
            message = t("Wrong username or password, or the account is disabled.")
        else:
            message = t(
                "Too many failed logins; try again in {seconds} seconds.",
                seconds=refused.retry_after,
            )
        return render(
            request,
            "login.html",
            status=401 if isinstance(refused, LoginRefused) else 429,
            next=_next(next),
            error=message,
            username=username,
        )
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LONGEST.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: Db, user: StaffUser = allow(*EVERYONE)) -> Response:
    log_out(session, token=request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.post("/language")
def login_page_language(
    lang: Annotated[str, Form()] = "", back: Annotated[str, Form(max_length=2000)] = "/console"
) -> Response:
    """The login page's language, kept in this browser."""
    response = RedirectResponse(_next(back), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="strict", path="/console"
        )
    return response


@router.post("/account/language")
def account_language(
    session: Db,
    lang: Annotated[str, Form()] = "",
    back: Annotated[str, Form(max_length=2000)] = "/console",
    user: StaffUser = allow(*EVERYONE),
) -> Response:
    """The language the console speaks to the signed-in user, on every device."""
    set_language(session, user=user, tag=lang)
    response = login_page_language(lang, back)
    return response
