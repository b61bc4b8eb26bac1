"""What every section of the report is made of, and how a code name reads on it."""

from dataclasses import dataclass

from regulars.i18n import Language


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # HTML: a chart or a table
    finding: str


def words(t: Language, code: str) -> str:
    """A code name as a label people read: price_sensitive is "Price sensitive"."""
    return t(code.replace("_", " ").capitalize())
