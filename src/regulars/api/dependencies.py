"""Request-scoped resources: the request's session, the caller, their permissions."""

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from regulars.access.models import Role
from regulars.access.service import Forbidden, NotAuthenticated, Principal, authenticate
from regulars.catalog.service import catalog_copy
from regulars.clock import utc_now
from regulars.errors import RegularsError, a


class TooManyRequests(RegularsError):
    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """At most `limit` events (`what`) per key in any 60 seconds (one process's view)."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit, self.what = limit, what
        self.events: defaultdict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> None:
        self.refuse_if_full(key)
        self.events[key].append(time.monotonic())

    def refuse_if_full(self, key: str) -> None:
        """Refuse while `key` has had its `limit` events in the last 60 seconds."""
        now = time.monotonic()
        window = self.events[key]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.limit:
            raise TooManyRequests(
                f"more than {self.limit} {self.what} a minute",
                retry_after=int(window[0] + 60 - now) + 1,
            )


async def get_session(request: Request) -> Session:
    """The request's unit of work (see `regulars.api.unit_of_work`): services never commit."""
    session: Session = request.state.session
    return session


DbSession = Annotated[Session, Depends(get_session)]


async def get_principal(request: Request, session: DbSession) -> Principal:
    """The caller; failed attempts from one address are throttled, each key rate limited.

    A valid credential is never throttled: tills behind one address (a shop's NAT) keep
    working while a misconfigured neighbour is answered 429. Keys are 256-bit random, so
    the throttle slows hammering, not guessing.
    """
    state = request.app.state
    address = request.client.host if request.client else "unknown"
    try:
        principal = authenticate(
            session, request.headers.get("Authorization"), secret=state.secret, now=utc_now()
        )
    except NotAuthenticated:
        state.failed_auth.check(address)
        raise

    state.rate_limit.check(
        f"key:{principal.key_id}" if principal.key_id else f"member:{principal.member_id}"
    )
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


def allow(*roles: Role) -> Callable[[Request, Principal], Awaitable[Principal]]:
    """A dependency admitting only these roles (admin always).

    On a path with a `{member_id}`, a member token reaches its own account only; the check
    runs before the body is read, so nothing about another account leaks.
    """
    admitted = {Role.ADMIN, *roles}

    async def check(request: Request, principal: Caller) -> Principal:
        if principal.role not in admitted:
            raise Forbidden(f"{a(principal.role).capitalize()} may not do this")
        if principal.role is Role.MEMBER and "member_id" in request.path_params:
            if request.path_params["member_id"] != str(principal.member_id):
                raise Forbidden("a member may only see their own account")
        return principal

    check.admitted = admitted  # type: ignore[attr-defined]  # read by the authorisation tests
    return check


MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases
MemberId = Annotated[int, Path(ge=1, le=MAX_ID, description="The member's id.")]
ReceiptId = Annotated[int, Path(ge=1, le=MAX_ID, description="The receipt's id.")]
Cursor = Annotated[int, Query(ge=0, le=MAX_ID, description="The last id of the page before.")]


def own_store(
    session: Session, caller: Principal, *, code: str | None = None, store_id: int | None = None
) -> None:
    """A till's key works for its own store only."""
    if caller.role is not Role.POS:
        return
    if code is not None:
        store = catalog_copy(session).store(session, code)
        store_id = store.id if store else None
    if store_id != caller.store_id:
        raise Forbidden("this key belongs to another store")
