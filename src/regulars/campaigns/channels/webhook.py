"""SMS, app push and WeChat template messages through the chain's own gateway: a signed
HTTP POST a message.

The gateway checks `X-Regulars-Signature`, the hex HMAC-SHA256 with the shared secret of
`<X-Regulars-Timestamp>.<body>`, and drops a repeat of `Idempotency-Key`.
"""

import hashlib
import hmac
import json
import time
from dataclasses import asdict

import httpx

from regulars.campaigns.channels import Outgoing, SendFailed


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Webhook:
    def __init__(self, url: str, secret: bytes, timeout: float = 10.0) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, message: Outgoing) -> None:
        body = json.dumps(asdict(message), ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            "X-Regulars-Timestamp": stamp,
            "X-Regulars-Signature": signature(self.secret, stamp, body),
        }
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as failed:
            raise SendFailed(f"the gateway did not answer: {type(failed).__name__}") from None
        if not answer.is_success:
            raise SendFailed(f"the gateway answered {answer.status_code}")
