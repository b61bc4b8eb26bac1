from datetime import date
from decimal import Decimal

from regulars.demo.week import run_week
from regulars.points.service import ledger_discrepancies
from tests.conftest import Database


def test_the_worked_example_week_tells_the_story_it_promises(database: Database) -> None:
    days = run_week(database.sessions, date(2026, 11, 16))
    monday, tuesday, wednesday, thursday, friday, saturday, sunday = days
    assert monday.sale is not None
    assert {o.code for o in monday.sale.promotions} == {"EGGS-2ND"}
    assert [o.discount for o in monday.sale.coupons] == [Decimal(10)]
    assert tuesday.sale is not None
    formula = tuesday.sale.lines[0]
    assert tuesday.sale.points_earned == int(
        tuesday.sale.total - formula.amount
    )  # none for formula
    assert wednesday.sale is not None
    assert any("member day" in reason for reason in wednesday.sale.earn_reasons)
    assert (monday.tier, thursday.tier) == ("普通 Regular", "银卡 Silver")
    assert "SILVER" not in thursday.note  # the note lists a coupon code, not the template
    assert "coupon now in the wallet" in thursday.note
    assert thursday.sale is not None
    beer = thursday.sale.lines[4]
    expected = round(thursday.sale.points_earned * beer.amount / thursday.sale.total)
    assert thursday.points_total - friday.points_total == expected  # the beer's share, reversed
    assert saturday.sale is not None
    assert saturday.sale.points_redeemed == 500
    assert saturday.sale.redeemed_value == Decimal(5)
    assert [o.code for o in saturday.sale.coupons] != []
    assert sunday.points_total == saturday.points_total + 20
    with database.sessions() as session:
        assert ledger_discrepancies(session) == []
