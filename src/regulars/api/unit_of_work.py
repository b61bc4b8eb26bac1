"""One request, one unit of work: one session, one transaction, committed once.

Authentication, the Idempotency-Key, the work itself, the answer kept under the key and
the audit row all share the request's transaction: a crash at any point leaves either all
of them or none, so a retry with the same key is always either answered from the record
or done afresh, never refused.

A request holds exactly one connection, so the pool is sized to the number of requests
the server admits at once and no request ever waits for a connection another holds.

The unit of work's own statements (the caller, the key, the answer, the audit row) run on
the event loop: they are short, and a hand-over to a worker thread and back costs more than
they do. So do the till's endpoints, which are `async def`; an endpoint that may run long
(a report, a search) is a plain `def` and runs in a worker thread. A wait on the database
is bounded on both: the writer's turn and SQLite's busy timeout, or PostgreSQL's lock
timeout, give up after REGULARS_DATABASE_WAIT_SECONDS with 503.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from regulars.access.service import Principal
from regulars.api.dependencies import Caller
from regulars.api.text import refuse_unstorable_text
from regulars.audit import service as audit
from regulars.clock import utc_now
from regulars.db import is_conflict
from regulars.errors import Contention, InvalidInput
from regulars.idempotency.service import Answer, Claim, claim, settle

PERSONAL = "personal data"  # routes tagged with this are audited on read too
# A POST that changes nothing (a quote) says so in the spec, and is not audited as a write.
READS_ONLY = {"x-reads-only": True}
ATTEMPTS = 3  # a lost race, a serialization failure or a deadlock re-runs the request


class WriterTurns:
    """SQLite has one writer at a time. Left to SQLite, waiting writers poll, sleeping up to
    100 ms between tries, and under load an unlucky one can wait past its limit. Here the
    writing requests of this process queue in order for their turn, before they open their
    transaction; PostgreSQL writers run side by side."""

    def __init__(self, engine: Engine, wait: float) -> None:
        self.lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self.wait = wait

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.lock is None:
            yield
            return
        try:
            await asyncio.wait_for(self.lock.acquire(), self.wait)
        except TimeoutError as error:
            raise PoolTimeout("no turn to write within the wait") from error
        try:
            yield
        finally:
            self.lock.release()


class Replay(Exception):
    """The request was answered before under its Idempotency-Key."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer


async def idempotency_key(request: Request, caller: Caller) -> None:
    """Claim the request's Idempotency-Key in the request's transaction, or replay the answer.

    Runs after authentication, so a revoked key or a closed account gets no replay.
    """
    key = request.headers.get("idempotency-key")
    route: UnitOfWork = request.scope["route"]
    if not key or request.method != "POST" or route.reads_only:
        return
    target = request.url.path.encode() + b"?" + request.url.query.encode()
    request_hash = hashlib.sha256(target + b"\n" + await request.body()).hexdigest()
    window = request.app.state.settings.idempotency_window
    claimed = Claim(
        caller=hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest(),
        key=key[:200],
        request_hash=request_hash,
    )
    session = request.state.session
    answer = claim(session, claimed, now=utc_now(), window=window)
    if answer is not None:
        raise Replay(answer)
    request.state.claim = claimed


def names_objects(request: Request, **ids: int) -> None:
    """Name in the audit row the objects a request made or found that its path does not
    name: a new member's id, the member a phone led to, a new receipt."""
    request.state.audited_ids = ids


def routes(**options: Any) -> APIRouter:
    """A router whose every route runs as one unit of work and honours Idempotency-Key."""
    return APIRouter(route_class=UnitOfWork, dependencies=[Depends(idempotency_key)], **options)


class UnitOfWork(APIRoute):
    @property
    def reads_only(self) -> bool:
        """Whether the route only reads and may run beside the writers."""
        return self.methods == {"GET"} or bool((self.openapi_extra or {}).get("x-reads-only"))

    @property
    def audited(self) -> bool:
        return not self.reads_only or PERSONAL in self.tags

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # A personal read writes its audit row, so it takes the writers' road.
        reads_only = self.reads_only and not self.audited

        async def run(request: Request) -> Response:
            try:
                refuse_unstorable_text(await request.body(), request.query_params)
            except InvalidInput as refused:
                return await _problem(request, refused)
            if reads_only:
                return await attempts(request)
            async with request.app.state.writers.turn():
                return await attempts(request)

        async def attempts(request: Request) -> Response:
            state = request.app.state
            for attempt in range(1, ATTEMPTS + 1):
                with (state.readers if reads_only else state.sessions)() as session:
                    request.state.session, request.state.claim = session, None
                    request.state.after_commit = []  # what the work says once it holds
                    request.state.audited_ids = {}  # see `names_objects`
                    try:
                        response = await handler(request)
                    except Replay as replay:
                        session.rollback()
                        return _replayed(replay.answer)
                    except (OperationalError, PoolTimeout, Contention) as error:
                        # A lost race runs again; a database busy or gone is answered 503.
                        session.rollback()
                        if attempt < ATTEMPTS and (
                            isinstance(error, Contention) or is_conflict(error)
                        ):
                            continue
                        raise
                    except Exception as error:
                        response = await _problem(request, error)
                        self._fail(session, request, response.status_code)
                        return response
                    self._finish(session, request, response)
                    return response
            raise AssertionError("unreachable")

        return run

    def _finish(self, session: Session, request: Request, response: Response) -> None:
        """Keep the answer under the key, audit, and commit: all or nothing."""
        claimed: Claim | None = request.state.claim
        if claimed is not None:
            settle(session, claimed, Answer(response.status_code, bytes(response.body).decode()))
        self._audit(session, request, response.status_code)
        session.commit()
        for then in request.state.after_commit:
            then()

    def _fail(self, session: Session, request: Request, status: int) -> None:
        """Undo the work; the refusal itself is audited and the key left free for a retry."""
        session.rollback()
        self._audit(session, request, status)
        session.commit()

    def _audit(self, session: Session, request: Request, status: int) -> None:
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None or not self.audited:
            return
        params = {**request.path_params, **request.state.audited_ids}
        audit.record(
            session,
            at=utc_now(),
            actor=principal.name,
            role=str(principal.role),
            action=f"{request.method} {self.path}",
            object=(",".join(f"{k}={v}" for k, v in sorted(params.items())) or "-")[:200],
            status=status,
            request_id=request.state.request_id,
        )


async def _problem(request: Request, error: Exception) -> Response:
    """The answer the application's exception handlers give for `error`."""
    for kind in type(error).__mro__:
        handler = request.app.exception_handlers.get(kind)
        if handler is not None:
            response: Response = await handler(request, error)
            return response
    raise error


def _replayed(answer: Answer) -> Response:
    media = "application/problem+json" if answer.status >= 400 else "application/json"
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=media,
        headers={"Idempotent-Replayed": "true"},
    )
