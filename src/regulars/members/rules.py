"""Pure rules for member identifiers: card numbers, referral codes, phones and e-mails."""

import secrets
from random import Random

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from regulars.errors import InvalidInput

CARD_PREFIX = "8"
CARD_RANDOM_DIGITS = 16  # about 53 bits: a card number cannot be guessed from another
REFERRAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
REFERRAL_LENGTH = 8


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits + check` pass the Luhn test, catching one-digit typos."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_card_number(card_number: str) -> bool:
    return (
        card_number.isdigit()
        and len(card_number) == len(CARD_PREFIX) + CARD_RANDOM_DIGITS + 1
        and card_number.startswith(CARD_PREFIX)
        and luhn_check_digit(card_number[:-1]) == card_number[-1]
    )


def new_card_number(rng: Random | None = None) -> str:
    """A fresh card number; pass a seeded `rng` only for reproducible demo data."""
    chooser = rng.choice if rng is not None else secrets.choice
    digits = CARD_PREFIX + "".join(chooser("0123456789") for _ in range(CARD_RANDOM_DIGITS))
    return digits + luhn_check_digit(digits)


def new_referral_code(rng: Random | None = None) -> str:
    chooser = rng.choice if rng is not None else secrets.choice
    return "".join(chooser(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))


def normalise_phone(raw: str, region: str) -> str:
    """E.164 form of a phone number written the way people write them in `region`."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"phone {raw!r} is not a phone number", field="phone") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"phone {raw!r} is not a valid number", field="phone")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_email(raw: str) -> str:
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"email {raw!r}: {exc}", field="email") from exc
    return str(checked.normalized).lower()


def masked_phone(phone: str | None) -> str:
    """A phone as staff see it until they ask to show it: +8613812345678 is 138****5678."""
    if not phone:
        return ""
    national = phone.removeprefix("+86") if phone.startswith("+86") else phone
    if len(national) < 8:
        return "*" * len(national)
    return f"{national[:3]}****{national[-4:]}"


def masked_email(email: str | None) -> str:
    """zhang.wei@example.com is z***@example.com."""
    if not email or "@" not in email:
        return ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def masked_name(name: str | None) -> str:
    """The first character only: 张伟 is 张*, Wei Zhang is W*."""
    return f"{name[:1]}*" if name else ""


def name_key(name: str | None) -> str | None:
    """A name as the desk looks it up: spaces collapsed, case folded (Li  Na is li na)."""
    if name is None:
        return None
    key = " ".join(name.split()).casefold()
    return key or None
