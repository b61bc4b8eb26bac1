"""Surveys over HTTP: marketing defines one and invites an audience, the member answers in
the app with their token or through the link in the message; refusals say why."""

from sqlalchemy import select

from regulars.campaigns.models import OutboxMessage
from tests.api.conftest import Api

SURVEY = {
    "code": "visit", "title": "购物体验调查", "title_en": "How was your visit?",
    "questions": ["nps", "overall", "rating:freshness", "comment"], "trigger": "audience",
    "points": 30,
}  # fmt: skip


def invite_member(api: Api) -> int:
    """The member says yes to SMS, is invited with everybody, and sees the invitation."""
    member = api.as_("member")
    yes = {"channel": "sms", "granted": True}
    said = api.client.post(f"/v1/members/{api.member_id}/consents", json=yes, headers=member)
    assert said.status_code == 201, said.text
    marketing = api.as_("marketing")
    made = api.client.post("/v1/surveys", json=SURVEY, headers=marketing)
    assert made.status_code == 201, made.text
    assert made.json()["questions"][0]["text"]["en"].startswith("How likely")
    everyone = {"name": "all", "definition": {"kind": "tier", "values": ["regular"]}}
    assert api.client.post("/v1/audiences", json=everyone, headers=marketing).status_code == 201
    invited = api.client.post(
        "/v1/surveys/visit/invitations", json={"audience": "all"}, headers=marketing
    )
    assert invited.json() == {"invited": 1}  # the other member gave no consent
    mine = api.client.get(f"/v1/members/{api.member_id}/survey-invitations", headers=member)
    [invitation] = mine.json()
    assert invitation["survey"]["code"] == "visit"
    return int(invitation["invitation_id"])


def test_a_member_answers_once_in_the_app_and_earns_the_points(api: Api) -> None:
    invitation_id = invite_member(api)
    member = api.as_("member")
    points = api.client.get(f"/v1/members/{api.member_id}/points", headers=member).json()
    given = {"nps": 10, "overall": 9, "rating:freshness": 8, "comment": "水果很新鲜"}
    body = {"invitation_id": invitation_id, "answers": given}
    other = api.client.post("/v1/survey-responses", json=body, headers=api.as_("other_member"))
    assert other.status_code == 404
    assert other.json()["code"] == "invitation_not_found"
    wrong = api.client.post(
        "/v1/survey-responses", json=body | {"answers": given | {"nps": 12}}, headers=member
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_input")
    assert "answers.nps" in wrong.text
    answered = api.client.post("/v1/survey-responses", json=body, headers=member)
    assert answered.status_code == 201, answered.text
    assert answered.json()["ratings"] == {"freshness": 8}
    again = api.client.post("/v1/survey-responses", json=body, headers=member)
    assert (again.status_code, again.json()["code"]) == (409, "already_answered")
    after = api.client.get(f"/v1/members/{api.member_id}/points", headers=member).json()
    assert after["total"] == points["total"] + 30
    assert api.client.get(f"/v1/members/{api.member_id}/survey-invitations",
                          headers=member).json() == []  # fmt: skip
    kept = api.client.get(
        f"/v1/survey-responses?member_id={api.member_id}", headers=api.as_("support")
    ).json()
    assert [(r["nps"], r["comment"]) for r in kept] == [(10, "水果很新鲜")]


def test_the_link_in_the_message_opens_a_form_that_takes_one_answer(api: Api) -> None:
    invite_member(api)
    with api.database.sessions() as session:
        body = session.scalars(select(OutboxMessage.body)).one()
    link = body.rsplit("：", 1)[-1].rsplit(" ", 1)[-1]
    path = "/s/" + link.rsplit("/s/", 1)[-1]
    page = api.client.get(path)
    assert page.status_code == 200
    assert "您有多大可能向亲友推荐我们的超市" in page.text
    form = {"nps": "6", "overall": "5", "rating:freshness": "4", "comment": "排队太久"}
    refused = api.client.post(path, data=form | {"nps": "eleven"})
    assert refused.status_code == 422
    assert "nps" in refused.text
    done = api.client.post(path, data=form)
    assert done.status_code == 200, done.text
    assert "感谢您的回答" in done.text
    twice = api.client.post(path, data=form)
    assert twice.status_code == 409
    forged = api.client.get(path[:-3] + "abc")
    assert forged.status_code == 404
