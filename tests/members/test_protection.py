import base64
import json
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from regulars.db import make_engine, make_sessionmaker, upgrade_database
from regulars.members import protection
from regulars.members.service import find_member, get_member, search_members
from tests.conftest import Template
from tests.factories import make_member


def raw(session: Session, member_id: int) -> dict[str, object]:
    row = (
        session.execute(
            text(
                "select phone, phone_index, email, name, birth_date, birth_month "
                "from member where id = :i"
            ),
            {"i": member_id},
        )
        .mappings()
        .one()
    )
    return dict(row)


def test_personal_data_is_sealed_at_rest_and_found_by_its_blind_index(session: Session) -> None:
    member = make_member(
        session,
        phone="13800138000",
        email="li@mail.example.cn",
        name="李娜",
        birth_date=date(1990, 3, 9),
    )
    stored = raw(session, member.id)
    for column in ("phone", "email", "name", "birth_date"):
        assert str(stored[column]).startswith("k1:"), column
        assert "13800138000" not in str(stored[column])
    assert stored["phone_index"] == protection.keyring().index("phone", "+8613800138000")
    assert stored["birth_month"] == 3
    session.expire_all()
    again = get_member(session, member_id=member.id)
    assert (again.phone, again.email, again.name, again.birth_date) == (
        "+8613800138000",
        "li@mail.example.cn",
        "李娜",
        date(1990, 3, 9),
    )
    assert find_member(session, phone="138 0013 8000", region="CN").id == member.id
    assert find_member(session, email="LI@mail.example.cn", region="CN").id == member.id


def test_rotated_keys_read_old_values_and_seal_new_ones_with_the_new_key() -> None:
    old = protection.keyring()
    rotated = protection.KeyRing(
        current="k2", keys={**old.keys, "k2": b"n" * 32}, index_key=old.index_key
    )
    sealed_before = old.seal("+8613800138000")
    assert rotated.open(sealed_before) == "+8613800138000"
    assert rotated.seal("x").startswith("k2:")
    assert rotated.index("phone", "y") == old.index("phone", "y")  # lookups survive rotation


def test_the_migration_seals_members_stored_in_clear(template: Template) -> None:
    engine = make_engine(template.empty())
    upgrade_database(engine, "0005_api_access")
    with engine.begin() as connection:
        connection.execute(
            text(
                "insert into member (card_number, phone, email, name, gender, birth_date, "
                "joined_at, status, referral_code) values ('800000000000000003', '+8613800138000', "
                "'old@mail.example.cn', 'Old Member', 'female', '1980-07-01', "
                "'2024-01-01 00:00:00+00:00', 'active', 'ABCDEFGH')"
            )
        )
    upgrade_database(engine)
    with make_sessionmaker(engine)() as session:
        member = find_member(session, phone="13800138000", region="CN")
        assert (member.name, member.birth_date, member.birth_month) == (
            "Old Member",
            date(1980, 7, 1),
            7,
        )
        assert str(raw(session, member.id)["email"]).startswith("k1:")
    engine.dispose()


def test_the_key_file_is_made_on_first_use_outside_production(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys.json"
    protection.new_key_file(path)
    spec = json.loads(path.read_text())
    assert spec["current"] == "k1"
    assert len(base64.b64decode(spec["keys"]["k1"])) == 32
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_members_stored_before_names_were_indexed_are_found_by_name(template: Template) -> None:
    engine = make_engine(template.empty())
    upgrade_database(engine, "0010_staff_users")
    ring = protection.keyring()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO member (card_number, name, gender, joined_at, status, referral_code)"
                " VALUES ('80000000000000006', :name, 'unspecified', :at, 'active', 'ABCDEFGH')"
            ),
            {"name": ring.seal("Zhang  San"), "at": "2026-01-01 00:00:00"},
        )
    upgrade_database(engine)
    with Session(engine) as session:
        assert [m.card_number for m in search_members(session, text="zhang san", region="CN")] == [
            "80000000000000006"
        ]
    engine.dispose()
