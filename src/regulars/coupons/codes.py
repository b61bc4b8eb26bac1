"""Coupon codes: 13 random characters (64 bits) and a check character, nothing ambiguous."""

import secrets
from random import Random

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters: no 0/O, 1/I/L
RANDOM_LENGTH = 13  # 31**13 ≈ 2**64


def check_character(body: str) -> str:
    """A weighted mod-31 sum: any single wrong character or swap of neighbours is caught."""
    total = sum((position + 1) * ALPHABET.index(char) for position, char in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_code(rng: Random | None = None) -> str:
    chooser = rng.choice if rng is not None else secrets.choice
    body = "".join(chooser(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def normalise(code: str) -> str:
    """Accept what people type: lower case, spaces and dashes."""
    return code.upper().replace("-", "").replace(" ", "")


def is_well_formed(code: str) -> bool:
    return (
        len(code) == RANDOM_LENGTH + 1
        and all(char in ALPHABET for char in code)
        and check_character(code[:-1]) == code[-1]
    )
