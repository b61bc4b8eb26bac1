from random import Random

import pytest

from regulars.errors import InvalidInput
from regulars.members import rules


def test_luhn_check_digit_matches_the_textbook_example() -> None:
    assert rules.luhn_check_digit("7992739871") == "3"


def test_new_card_numbers_pass_their_check_and_catch_a_typo() -> None:
    card = rules.new_card_number()
    assert rules.is_valid_card_number(card)
    typo = card[:5] + str((int(card[5]) + 1) % 10) + card[6:]
    assert not rules.is_valid_card_number(typo)


def test_seeded_card_numbers_repeat_and_differ_between_members() -> None:
    first = [rules.new_card_number(Random(3)) for _ in range(2)]
    assert first[0] == first[1]
    rng = Random(3)
    assert rules.new_card_number(rng) != rules.new_card_number(rng)


def test_referral_codes_avoid_ambiguous_letters() -> None:
    codes = {rules.new_referral_code() for _ in range(200)}
    assert len(codes) == 200
    assert not set("".join(codes)) & set("01OIL")


@pytest.mark.parametrize(
    "written", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "0086 13800138000"]
)
def test_phone_numbers_normalise_to_e164(written: str) -> None:
    assert rules.normalise_phone(written, "CN") == "+8613800138000"


@pytest.mark.parametrize("written", ["12345", "not a phone", "1380013800099"])
def test_bad_phone_numbers_name_the_field(written: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.normalise_phone(written, "CN")
    assert caught.value.field == "phone"


def test_emails_are_lower_cased_and_checked() -> None:
    assert rules.normalise_email("Li.Na@Example.COM") == "li.na@example.com"
    with pytest.raises(InvalidInput):
        rules.normalise_email("li.na@")
