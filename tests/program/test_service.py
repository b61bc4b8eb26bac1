from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from regulars.coupons.service import add_template
from regulars.demo.writers import COUPON_TEMPLATES
from regulars.program.service import (
    InvalidProgram,
    NoProgram,
    active_program,
    apply_program,
    parse_program,
)
from tests.factories import NOW

EXAMPLE = Path(__file__).parents[2] / "examples" / "program.toml"


def test_the_example_program_is_valid() -> None:
    program = parse_program(EXAMPLE.read_text())
    assert [t.code for t in program.tiers] == ["regular", "silver", "gold", "diamond"]
    assert program.earning.pending_days == 7


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            'name = "x"\n[[tiers]]\ncode = "a"\nname = "A"\nmin_spend = -1',
            "tiers.0.min_spend",
            "greater than or equal",
        ),
        (
            'name = "x"\n[[tiers]]\ncode = "a"\nname = "A"\n[earning]\nbogus = 1',
            "earning.bogus",
            "Extra inputs",
        ),
        ('name = "x"', "tiers", "Field required"),
        (
            'name = "x"\n[[tiers]]\ncode = "a"\nname = "A"\n[expiry]\npolicy = "sometimes"',
            "expiry.policy",
            "Input should be",
        ),
        ("name = ", None, "not valid TOML"),
    ],
)
def test_errors_name_the_key_and_the_reason(text: str, field: str | None, words: str) -> None:
    with pytest.raises(InvalidProgram) as caught:
        parse_program(text)
    assert caught.value.field == field
    assert words in caught.value.message


def test_each_apply_is_a_new_version_and_the_last_is_active(session: Session) -> None:
    with pytest.raises(NoProgram):
        active_program(session)
    text = EXAMPLE.read_text()
    with pytest.raises(InvalidProgram, match="no coupon template 'SILVER-WELCOME'"):
        apply_program(session, text=text, now=NOW, actor="ops")
    for template in COUPON_TEMPLATES:
        add_template(session, data=template, now=NOW)
    first = apply_program(session, text=text, now=NOW, actor="ops")
    second = apply_program(
        session,
        text=text.replace("cap_per_day = 10000", "cap_per_day = 9000"),
        now=NOW,
        actor="ops",
    )
    version, program = active_program(session)
    assert second.id > first.id
    assert version == second.id
    assert program.earning.cap_per_day == 9000
