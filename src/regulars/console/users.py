"""Staff accounts: who may use the console, in which role and language (admins)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from regulars.catalog.service import list_stores
from regulars.clock import utc_now
from regulars.console.core import Db, allow, audit_action, form_errors, once, render
from regulars.errors import RegularsError
from regulars.i18n import LANGUAGES
from regulars.staff.models import StaffRole, StaffUser
from regulars.staff.service import create_user, disable_user, list_users

router = APIRouter(prefix="/console/users", include_in_schema=False)
Short = Annotated[str, Form(max_length=100)]


def _page(request: Request, session: Db, status: int = 200, **values: object) -> Response:
    defaults = {
        "users": list_users(session),
        "roles": list(StaffRole),
        "stores": list_stores(session),
        "languages": LANGUAGES,
        "errors": {},
        "typed": {},
    }
    return render(request, "users.html", status=status, **(defaults | values))


@router.get("")
def users(request: Request, session: Db, user: StaffUser = allow()) -> Response:
    return _page(request, session)


@router.post("")
def create(
    request: Request,
    session: Db,
    username: Short = "",
    display_name: Short = "",
    role: Short = "",
    store: Short = "",
    language: Short = "zh-CN",
    password: Annotated[str, Form(max_length=1000)] = "",
    user: StaffUser = allow(),
) -> Response:
    def act() -> str:
        if role not in {r.value for r in StaffRole}:
            raise RegularsError("choose a role", field="role")
        created = create_user(
            session,
            username=username,
            display_name=display_name,
            role=StaffRole(role),
            password=password,
            now=utc_now(),
            store_code=store or None,
            language=language,
        )
        audit_action(request, session, user, f"create staff user {created.username}")
        return "/console/users"

    try:
        return once(request, session, user, act)
    except RegularsError as refused:
        errors = form_errors(request.state.t, refused)
        typed = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "store": store,
            "language": language,
        }
        return _page(request, session, errors=errors, typed=typed, status=422)


@router.post("/disable")
def disable(
    request: Request, session: Db, username: Short = "", user: StaffUser = allow()
) -> Response:
    def act() -> str:
        disable_user(session, username=username, now=utc_now())
        audit_action(request, session, user, f"disable staff user {username}")
        return "/console/users"

    return once(request, session, user, act)
