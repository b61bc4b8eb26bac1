"""Personal data at rest: AES-GCM encryption with rotating keys, and blind indexes.

Phone, e-mail, name and birth date are stored encrypted. Each value carries the id of the
key that sealed it, so keys can be rotated: new values use the current key, old ones stay
readable while their key is kept. Phone and e-mail are found through a keyed hash (blind
index) of their normalised form; that index key never rotates.

Keys come from `REGULARS_DATA_KEYS` (JSON) or the file `REGULARS_DATA_KEYS_FILE`:
`{"current": "k2", "keys": {"k1": "<base64 32 bytes>", "k2": "…"}, "index_key": "…"}`.
Outside production a missing file is created with fresh keys on first use.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from regulars.config import get_settings


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: dict[str, bytes]
    index_key: bytes

    def seal(self, text: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, text.encode(), None)
        return f"{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, stored: str) -> str:
        key_id, _, payload = stored.partition(":")
        raw = base64.b64decode(payload)
        return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], None).decode()

    def index(self, kind: str, value: str) -> str:
        return hmac.new(self.index_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def new_key_file(path: Path) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    index = base64.b64encode(secrets.token_bytes(32)).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": "k1", "keys": {"k1": key}, "index_key": index}))
    path.chmod(0o600)


@lru_cache
def keyring() -> KeyRing:
    settings = get_settings()
    text = os.environ.get("REGULARS_DATA_KEYS")
    if text is None:
        path = settings.data_keys_file
        if not path.exists():
            if settings.environment == "production":
                raise FileNotFoundError(f"{path} does not exist: production needs its data keys")
            new_key_file(path)
        text = path.read_text()
    spec = json.loads(text)
    return KeyRing(
        current=spec["current"],
        keys={key_id: base64.b64decode(value) for key_id, value in spec["keys"].items()},
        index_key=base64.b64decode(spec["index_key"]),
    )


def blind_index(kind: str, value: str | None) -> str | None:
    return None if value is None else keyring().index(kind, value)


class Sealed(TypeDecorator[str]):
    """Text encrypted on its way into the database and decrypted on its way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().open(value)


class SealedDate(TypeDecorator[date]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().seal(value.isoformat())

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(keyring().open(value))
