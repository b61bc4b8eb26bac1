"""Outcomes of use cases that take many records at once (imports, demo data)."""

from dataclasses import dataclass

from regulars.errors import RegularsError


@dataclass(frozen=True)
class Recorded:
    id: int
    created: bool  # False when an identical record was already there: nothing was written


Outcome = Recorded | RegularsError
