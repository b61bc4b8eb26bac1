"""Text no database can store, refused before any work starts, naming where it is.

JSON may spell a NUL character (`\\u0000`), which PostgreSQL refuses in text, or half of a
UTF-16 pair (`\\ud800`), which is not a character at all; a query string may hold `%00`.
"""

import json
from collections.abc import Mapping

from regulars.errors import InvalidInput


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character, which is not text"
    if text.encode(errors="ignore").decode() != text:
        return "holds half of a UTF-16 pair (such as \\ud800), which is not a character"
    return None


def _first(value: object, path: str) -> tuple[str, str] | None:
    """(path, problem) of the first unstorable text in a JSON value."""
    if isinstance(value, str):
        problem = _problem(value)
        return (path or "body", problem) if problem else None
    items: list[tuple[object, object]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        inner = f"{path}.{key}" if path else str(key)
        found = _first(key, inner) or _first(item, inner)
        if found:
            return found
    return None


def refuse_unstorable_text(body: bytes, query: Mapping[str, str]) -> None:
    """Raise `InvalidInput` naming the first field whose text no database can store."""
    found = next(
        ((name, problem) for name, text in query.items() if (problem := _problem(text))), None
    )
    if found is None and b"\\u" in body:  # only an escape can spell such text in JSON
        try:
            found = _first(json.loads(body), "")
        except ValueError:
            return  # not JSON: the request's own validation says so
    if found is not None:
        raise InvalidInput(f"{found[0]} {found[1]}", field=found[0])
