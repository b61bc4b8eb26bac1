"""Request ids, idempotency keys and the audit log, around every request.

A plain ASGI middleware: it writes the audit entry and settles the idempotency key only
after the request's own transaction has finished, so the two never wait on each other.
"""

import asyncio
import hashlib
import uuid
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regulars.access.service import authenticate
from regulars.audit import service as audit
from regulars.clock import utc_now
from regulars.db import run_in_transaction
from regulars.errors import RegularsError
from regulars.idempotency.service import Answer, claim, settle

PERSONAL = "personal data"  # routes tagged with this are audited on read too
# A POST that changes nothing (a quote) says so in the spec, and is not audited as a write.
READS_ONLY = {"x-reads-only": True}


class RequestContext:
    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        # Requests beyond this wait here, in the event loop, rather than in worker threads:
        # otherwise threads blocked on a database lock can starve the one thread the lock
        # holder needs to commit, and the server stalls.
        self.gate = asyncio.Semaphore(fastapi.state.settings.max_concurrent_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = (headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 500}
        captured: list[bytes] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            elif message["type"] == "http.response.body":
                captured.append(message.get("body", b""))
            await send(message)

        key = headers.get("idempotency-key")
        async with self.gate:
            if scope["method"] == "POST" and key:
                await self._idempotent(
                    scope, receive, sending, send, headers, key[:200], captured, status
                )
            else:
                await self.app(scope, receive, sending)
            await run_in_threadpool(self._audit, scope, status["code"], request_id)

    async def _idempotent(
        self,
        scope: Scope,
        receive: Receive,
        sending: Send,
        send: Send,
        headers: dict[str, str],
        key: str,
        captured: list[bytes],
        status: dict[str, int],
    ) -> None:
        state = self.fastapi.state
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        if not await run_in_threadpool(self._valid_credentials, headers):
            await self.app(scope, replay_body, sending)  # answered 401 there, nothing kept
            return
        caller = hashlib.sha256(headers.get("authorization", "").encode()).hexdigest()
        target = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        request_hash = hashlib.sha256(target + b"\n" + body).hexdigest()
        try:
            answer = await run_in_threadpool(
                partial(
                    claim,
                    state.sessions,
                    caller=caller,
                    key=key,
                    request_hash=request_hash,
                    now=utc_now(),
                    window=timedelta(hours=state.settings.idempotency_hours),
                )
            )
        except RegularsError as error:
            response = state.problem(error)
            status["code"] = response.status_code
            await response(scope, receive, send)
            return
        if answer is not None:
            status["code"] = answer.status
            await _send_json(
                send, answer.status, answer.body.encode(), [(b"idempotent-replayed", b"true")]
            )
            return
        try:
            await self.app(scope, replay_body, sending)
        except BaseException:
            # The first try failed outright: release the key so the client may try again.
            await run_in_threadpool(
                partial(settle, state.sessions, caller=caller, key=key, answer=None)
            )
            raise
        content = b"".join(captured)
        answered = None if status["code"] >= 500 else Answer(status["code"], content.decode())
        await run_in_threadpool(
            partial(settle, state.sessions, caller=caller, key=key, answer=answered)
        )

    def _valid_credentials(self, headers: dict[str, str]) -> bool:
        """A revoked key or a closed account must not get answers replayed."""
        state = self.fastapi.state
        try:
            with state.readers() as session:
                authenticate(
                    session, headers.get("authorization"), secret=state.secret, now=utc_now()
                )
        except RegularsError:
            return False
        return True

    def _audit(self, scope: Scope, status: int, request_id: str) -> None:
        principal = scope.get("state", {}).get("principal")
        if principal is None:
            return
        route, params = scope.get("route"), scope.get("path_params", {})  # set by the router
        personal = PERSONAL in (getattr(route, "tags", None) or [])
        reads = scope["method"] == "GET" or (getattr(route, "openapi_extra", None) or {}).get(
            "x-reads-only", False
        )
        if reads and not personal:
            return
        path = getattr(route, "path", scope["path"])
        run_in_transaction(
            self.fastapi.state.sessions,
            lambda session: audit.record(
                session,
                at=utc_now(),
                actor=principal.name,
                role=str(principal.role),
                action=f"{scope['method']} {path}",
                object=(",".join(f"{k}={v}" for k, v in sorted(params.items())) or "-")[:200],
                status=status,
                request_id=request_id,
            ),
        )


async def _send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext, fastapi=app)
