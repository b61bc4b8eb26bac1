"""Request ids, the gate that bounds how many requests work at once, and each request
counted and timed for /metrics (and logged as JSON when asked for)."""

import asyncio
import time
import uuid

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regulars.operations.requests import record


class RequestContext:
    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        # Requests beyond this wait here, in the event loop, holding no connection: the
        # pool has one connection for each request admitted (see `unit_of_work`).
        self.gate = asyncio.Semaphore(fastapi.state.settings.max_concurrent_requests)
        self.json_log = fastapi.state.settings.log_format == "json"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # unless an answer starts
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = (sent or uuid.uuid4().hex)[:64]
        scope.setdefault("state", {})["request_id"] = request_id

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            async with self.gate:
                await self.app(scope, receive, sending)
        finally:
            record(scope, status, began, as_json=self.json_log)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext, fastapi=app)
