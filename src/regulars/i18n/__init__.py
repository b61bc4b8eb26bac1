"""What people read, in their language: Babel message catalogues and the locale's numbers.

English is the source language: a message is its own English text, with named places for
values (`"{members} members bought in the period"`). Each other language has a catalogue,
`locales/<tag>/LC_MESSAGES/messages.po`, read with Babel. A message a catalogue lacks is
shown in English and remembered in `missing`, so a test can require a complete catalogue.
"""

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from regulars.errors import InvalidInput

LANGUAGES = ("en", "zh-CN")


@dataclass
class Language:
    tag: str
    locale: Locale
    messages: dict[str, str]
    missing: set[str] = field(default_factory=set)

    def __call__(self, message: str, **values: object) -> str:
        """The message in this language, its places filled with `values` (a message given
        no values is taken as it is, braces and all: chart templates have their own)."""
        found = self.messages.get(message)
        if found is None and self.tag != "en":
            self.missing.add(message)
        text = found or message
        return text.format(**values) if values else text

    def told(self, message: str) -> str:
        """A message made elsewhere with its values already in (a service's refusal): the
        catalogue entry it fits, e.g. "at most {cap} points" fits "at most 500 points",
        with the values carried over."""
        if self.tag == "en" or message in self.messages:
            return self(message)
        for pattern, translation in _patterns(self.tag):
            fitted = pattern.fullmatch(message)
            if fitted:
                return translation.format(**fitted.groupdict())
        self.missing.add(message)
        return message

    def number(self, value: float, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def percent(self, share: float, decimals: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
        return str(format_percent(share, format=pattern, locale=self.locale))


@cache
def _catalogue(tag: str) -> dict[str, str]:
    if tag == "en":
        return {}
    folder = files("regulars.i18n").joinpath(f"locales/{tag.replace('-', '_')}/LC_MESSAGES")
    with folder.joinpath("messages.po").open("rb") as po:
        catalogue = read_po(po)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


@cache
def _patterns(tag: str) -> list[tuple[re.Pattern[str], str]]:
    """The catalogue's messages with places, as patterns that recognise them filled in."""
    found = []
    for message, translation in _catalogue(tag).items():
        parts = re.split(r"\{(\w+)\}", message)
        if len(parts) == 1:
            continue
        pattern, named = "", set()
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern += re.escape(part)
            else:  # a place named twice holds the same value twice
                pattern += f"(?P={part})" if part in named else f"(?P<{part}>.+?)"
                named.add(part)
        found.append((re.compile(pattern, re.DOTALL), translation))
    return found


def language(tag: str) -> Language:
    """The language named by `tag` (`en`, `zh-CN`)."""
    if tag not in LANGUAGES:
        raise InvalidInput(
            f"no {tag!r} translation; choose one of {', '.join(LANGUAGES)}", field="lang"
        )
    return Language(tag, Locale.parse(tag.replace("-", "_")), _catalogue(tag))
