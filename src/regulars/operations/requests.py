"""Each request measured for /metrics and, when asked for, logged as one JSON line."""

import json
import logging
import time
from typing import Any

from starlette.types import Scope

from regulars.clock import utc_now
from regulars.operations.metrics import LATENCY, REQUESTS

log = logging.getLogger("regulars.requests")


def record(scope: Scope, status: int, began: float, *, as_json: bool) -> None:
    """Count and time one answered request; `began` is its `time.perf_counter()`."""
    seconds = time.perf_counter() - began
    route = getattr(scope.get("route"), "path", "unmatched")
    method = scope["method"]
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if as_json:
        state: dict[str, Any] = scope.get("state", {})
        principal = state.get("principal")
        line = {
            "at": utc_now().isoformat(),
            "request_id": state.get("request_id"),
            "method": method,
            "route": route,
            "path": scope["path"],
            "status": status,
            "ms": round(seconds * 1000, 2),
            "actor": getattr(principal, "name", None),
        }
        log.info(json.dumps(line, ensure_ascii=False))
