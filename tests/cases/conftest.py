"""A service desk: a store with its hours and a service level for fresh-food complaints."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from regulars.cases.hours import set_opening_hours
from regulars.cases.levels import set_policy
from regulars.cases.models import CaseCategory, Severity
from tests.factories import make_product, make_program, make_store

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_FIVE = datetime(2026, 10, 9, 17, tzinfo=SHANGHAI)  # an hour before closing
WEEKDAYS = {d: (time(9), time(18)) for d in range(5)}


@pytest.fixture
def desk(session: Session) -> Session:
    make_program(session)
    make_store(session, "S001")
    make_product(session, sku="MILK", price="12.00", subcategory="DAIRY")
    set_opening_hours(session, store_code=None, hours=WEEKDAYS)
    set_policy(
        session, category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
        first_response=timedelta(hours=2), resolution=timedelta(hours=8), now=FRIDAY_FIVE,
    )  # fmt: skip
    return session
