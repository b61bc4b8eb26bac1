"""Request ids, idempotency keys and the audit log, around every request."""

import hashlib
import uuid
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import Match

from regulars.audit import service as audit
from regulars.clock import utc_now
from regulars.db import run_in_transaction
from regulars.errors import RegularsError
from regulars.idempotency.service import Answer, claim, settle

PERSONAL = "personal data"  # routes tagged with this are audited on read too


def _route(request: Request) -> tuple[str, dict[str, str]]:
    for route in request.app.router.routes:
        match, scope = route.matches(request.scope)
        if match is Match.FULL:
            return getattr(route, "path", request.url.path), scope.get("path_params", {})
    return request.url.path, {}


class RequestContext(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request.state.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        response = await self._idempotent(request, call_next)
        response.headers["X-Request-Id"] = request.state.request_id
        self._audit(request, response)
        return response

    async def _idempotent(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await call_next(request)
        app = request.app
        body = await request.body()
        caller = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
        request_hash = hashlib.sha256(f"{request.url.path}\n".encode() + body).hexdigest()
        try:
            answer = claim(
                app.state.sessions,
                caller=caller,
                key=key[:200],
                request_hash=request_hash,
                now=utc_now(),
                window=timedelta(hours=app.state.settings.idempotency_hours),
            )
        except RegularsError as error:
            return app.state.problem(error)
        if answer is not None:
            return Response(
                answer.body,
                status_code=answer.status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        response = await call_next(request)
        chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        settled = (
            None if response.status_code >= 500 else Answer(response.status_code, content.decode())
        )
        settle(app.state.sessions, caller=caller, key=key[:200], answer=settled)
        return Response(
            content,
            status_code=response.status_code,
            headers=dict(response.headers),
            media_type=response.media_type,
        )

    def _audit(self, request: Request, response: Response) -> None:
        principal = getattr(request.state, "principal", None)
        path, params = _route(request)
        route = next(
            (r for r in request.app.router.routes if getattr(r, "path", None) == path), None
        )
        personal = PERSONAL in (getattr(route, "tags", None) or [])
        if principal is None or (request.method == "GET" and not personal):
            return
        run_in_transaction(
            request.app.state.sessions,
            lambda session: audit.record(
                session,
                at=utc_now(),
                actor=principal.name,
                role=str(principal.role),
                action=f"{request.method} {path}",
                object=",".join(f"{k}={v}" for k, v in sorted(params.items())) or "-",
                status=response.status_code,
                request_id=request.state.request_id,
            ),
        )


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
