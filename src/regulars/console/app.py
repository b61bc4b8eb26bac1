"""The console's routes, assets and error pages, added to the API's application."""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from regulars.api import problems
from regulars.api.dependencies import RateLimiter
from regulars.console import (
    auth,
    baskets,
    calendar,
    campaigns,
    cases,
    coupons,
    dashboard,
    journeys,
    members,
    optout,
    program,
    reports,
    segments,
    survey_link,
    surveys,
    users,
)
from regulars.console.core import Allowed, LoginNeeded, NotAllowed, render, to_login
from regulars.errors import RegularsError
from regulars.staff.models import StaffRole

PAGES = (
    auth, dashboard, members, cases, surveys, segments, campaigns, journeys, calendar,
    program, coupons, reports, baskets, users, optout, survey_link,
)  # fmt: skip
# The menu, in order; each entry is shown to the roles its page allows.
MENU = (
    ("/console", "Dashboard"),
    ("/console/members", "Members"),
    ("/console/cases", "Cases"),
    ("/console/surveys", "Surveys"),
    ("/console/segments", "Segments"),
    ("/console/audiences", "Audiences"),
    ("/console/campaigns", "Campaigns"),
    ("/console/journeys", "Journeys"),
    ("/console/calendar", "Calendar"),
    ("/console/program", "Program"),
    ("/console/coupons", "Coupons"),
    ("/console/reports", "Reports"),
    ("/console/baskets", "Baskets"),
    ("/console/users", "Staff"),
)
PLOTLY = files("plotly").joinpath("package_data/plotly.min.js")


def allowed_roles(route: APIRoute) -> frozenset[StaffRole] | None:
    """The roles a console route admits, read off its dependencies (None: no sign-in)."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Allowed):
            return dependant.call.roles
        pending.extend(dependant.dependencies)
    return None


def console_routes() -> list[APIRoute]:
    """Every page and action of the console."""
    return [r for page in PAGES for r in page.router.routes if isinstance(r, APIRoute)]


def install(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.console_logins = (
        RateLimiter(settings.failed_auth_per_minute, "failed logins from this address"),
        RateLimiter(auth.FAILED_LOGINS_PER_NAME, "failed logins for this user"),
    )
    app.state.scored_figures = {}  # see segments.scored_figures
    for page in PAGES:
        app.include_router(page.router)
    routes = {r.path: r for r in console_routes() if "GET" in (r.methods or ())}
    app.state.console_menu = [(path, label, allowed_roles(routes[path])) for path, label in MENU]
    app.mount(
        "/console/assets",
        StaticFiles(directory=str(files("regulars.console").joinpath("static"))),
        name="console-assets",
    )

    @app.get("/console/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return FileResponse(
            str(PLOTLY),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/console/", include_in_schema=False)
    def slash() -> Response:
        return RedirectResponse("/console", status_code=308)

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, _error: LoginNeeded) -> Response:
        return to_login(request)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, _error: NotAllowed) -> Response:
        t = request.state.t
        return render(
            request,
            "error.html",
            status=403,
            message=t("Your role does not allow this page or action."),
        )

    async def business_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RegularsError)
        if not request.url.path.startswith("/console"):
            return problems.from_error(error)
        t = getattr(request.state, "t", None)
        message = t.told(error.message) if t else error.message
        return render(request, "error.html", status=error.status, message=message)

    app.exception_handlers[RegularsError] = business_error
