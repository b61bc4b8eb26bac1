"""The one error hierarchy: every business failure has a stable code and an HTTP status."""


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
