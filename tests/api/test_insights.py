from functools import partial

from regulars.db import run_in_transaction
from regulars.insights.schemas import MemberScores
from regulars.insights.service import store_scores
from tests.api.conftest import Api
from tests.factories import NOW


def test_support_reads_a_member_s_scores_and_analysts_only_the_aggregates(api: Api) -> None:
    url = f"/v1/members/{api.member_id}/insights"
    before = api.client.get(url, headers=api.as_("support"))
    assert (before.status_code, before.json()["code"]) == (404, "no_insights")
    score = MemberScores(member_id=api.member_id, rfm_segment="Loyal", clv=88.0, churn_risk=0.25)
    run_in_transaction(
        api.database.sessions,
        partial(store_scores, scores=[score], data_until=NOW, description={}, now=NOW),
    )
    after = api.client.get(url, headers=api.as_("support")).json()
    assert (after["rfm_segment"], after["clv"], after["churn_risk"]) == ("Loyal", 88.0, 0.25)
    assert api.client.get(url, headers=api.as_("analyst")).status_code == 403
    assert api.client.get(url, headers=api.as_("member")).status_code == 403
    segments = api.client.get("/v1/insights/segments", headers=api.as_("analyst")).json()
    assert segments == [
        {"rfm_segment": "Loyal", "members": 1, "mean_clv": 88.0, "mean_churn_risk": 0.25}
    ]
