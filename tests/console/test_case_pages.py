"""The case queue and a case's page: timers, moves, assignment and goodwill within the cap,
the store manager's own queue, every word in Chinese."""

import re
from datetime import time, timedelta

from sqlalchemy import select

from regulars.cases.hours import set_opening_hours
from regulars.cases.levels import set_policy
from regulars.cases.models import CaseCategory, CaseChannel, Severity
from regulars.cases.service import NewCase, history, open_case
from regulars.catalog.models import Store
from regulars.clock import utc_now
from regulars.i18n import Language
from regulars.staff.models import StaffRole, StaffUser
from tests.console.conftest import DEMO_STAFF, Console, form_fields, untranslated


def _cases(console: Console) -> tuple[int, int]:
    """A case at the manager's store and one at another, both opened two days ago."""
    with console.database.sessions() as session:
        manager = session.scalars(
            select(StaffUser).where(StaffUser.username == DEMO_STAFF[StaffRole.STORE_MANAGER])
        ).one()
        own = session.get_one(Store, manager.store_id).code
        other = session.scalars(select(Store.code).where(Store.code != own)).first()
        member_id, _ = console.member()
        set_opening_hours(session, store_code=None, hours={d: (time(0), time(0)) for d in range(7)})
        set_policy(
            session, category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
            first_response=timedelta(hours=1), resolution=timedelta(hours=24), now=utc_now(),
        )  # fmt: skip
        opened = [
            open_case(
                session,
                case=NewCase(channel=CaseChannel.HOTLINE, store_code=code,
                             category=CaseCategory.FRESHNESS, severity=Severity.HIGH,
                             description="酸奶过期了", member_id=member_id),
                now=utc_now() - timedelta(days=2), actor="hotline",
            ).id
            for code in (own, str(other))
        ]  # fmt: skip
        session.commit()
    return opened[0], opened[1]


def test_an_agent_works_a_case_from_the_queue(console: Console, spoken: list[Language]) -> None:
    mine, _ = _cases(console)
    with console.client(StaffRole.SUPPORT) as agent:
        listed = agent.get("/console/cases")
        assert f'href="/console/cases/{mine}"' in listed.text
        assert 'class="error"' in listed.text  # two days old, unanswered: late
        page = agent.get(f"/console/cases/{mine}")
        moved = agent.post(
            f"/console/cases/{mine}/move",
            data={**form_fields(page, f"/console/cases/{mine}/move"), "state": "in_progress",
                  "note": "called the customer"},
        )  # fmt: skip
        assert moved.status_code == 303
        page = agent.get(f"/console/cases/{mine}")
        too_much = agent.post(
            f"/console/cases/{mine}/goodwill",
            data={**form_fields(page, f"/console/cases/{mine}/goodwill"), "points": "900",
                  "reason": "sorry"},
        )  # fmt: skip
        assert too_much.status_code == 422
        assert 'id="points-error"' in too_much.text
        assert re.search(r"0 to 500", too_much.text)
        given = agent.post(
            f"/console/cases/{mine}/goodwill",
            data={**form_fields(too_much, f"/console/cases/{mine}/goodwill"), "points": "200",
                  "reason": "sour yoghurt"},
        )  # fmt: skip
        assert given.status_code == 303
        page = agent.get("/console")
        agent.post(
            "/console/account/language",
            data={**form_fields(page, "/console/account/language"), "lang": "zh-CN"},
        )
        chinese = agent.get(f"/console/cases/{mine}")
        assert "处理中" in chinese.text
        member = re.search(r'href="/console/members/(\d+)"', chinese.text)
        assert member, chinese.text
        three_sixty = agent.get(f"/console/members/{member.group(1)}").text
        assert f'href="/console/cases/{mine}"' in three_sixty  # the member 360 lists it
    with console.database.sessions() as session:
        kinds = [e.kind for e in history(session, case_id=mine)]
    assert kinds == ["opened", "state", "goodwill"]
    assert not untranslated(spoken)


def test_a_store_manager_sees_their_own_stores_cases_only(console: Console) -> None:
    mine, theirs = _cases(console)
    with console.client(StaffRole.STORE_MANAGER) as manager:
        listed = manager.get("/console/cases").text
        assert f'href="/console/cases/{mine}"' in listed
        assert f'href="/console/cases/{theirs}"' not in listed
        assert manager.get(f"/console/cases/{mine}").status_code == 200
        assert manager.get(f"/console/cases/{theirs}").status_code == 403
        page = manager.get(f"/console/cases/{mine}")
        assert f"/console/cases/{mine}/move" not in page.text  # the desk reads, agents act
