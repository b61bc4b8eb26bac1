"""The one error hierarchy: every business failure has a stable code and an HTTP status."""

from collections.abc import Mapping, Sequence
from typing import Any


class RegularsError(Exception):
    """A failure the caller can act on; `code` is stable and documented, `message` is for people."""

    code = "regulars_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


def in_words(problem: Mapping[str, Any]) -> str:
    """A validation problem's message as a sentence, without the "Value error, " label."""
    return str(problem["msg"]).removeprefix("Value error, ")


def problems_in_words(problems: Sequence[Mapping[str, Any]], whole: str) -> tuple[str, str]:
    """Validation problems as one message naming each key (`tiers.2.min_spend: …`), and the
    first key, for the field to show it beside; `whole` names a problem of the whole."""
    keys = [".".join(str(p) for p in problem["loc"]) for problem in problems]
    said = (f"{key or whole}: {in_words(p)}" for key, p in zip(keys, problems, strict=True))
    return "; ".join(said), keys[0]


def a(word: object) -> str:
    """The word with its article, as a sentence needs it: "an analyst", "a pos"."""
    text = str(word)
    return f"{'an' if text[:1].lower() in 'aeio' else 'a'} {text}"


class InvalidInput(RegularsError):
    code = "invalid_input"
    status = 422


class NotFound(RegularsError):
    code = "not_found"
    status = 404


class Conflict(RegularsError):
    code = "conflict"
    status = 409


class DatabaseNotReady(RegularsError):
    code = "database_not_ready"
    status = 503


class Contention(Exception):
    """Another transaction won a race this one depended on: the last coupon, the last of a
    budget, the same receipt number. The unit of work runs again from the start and then
    sees the outcome (the coupon is refused, the offer priced without, the receipt replayed).
    """
