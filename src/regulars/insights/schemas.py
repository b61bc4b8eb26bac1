"""API shapes of member insights."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class MemberScores(BaseModel):
    """What one scoring run produced for one member; fields the run did not score are null."""

    model_config = ConfigDict(from_attributes=True)

    member_id: int
    rfm_segment: str | None = None
    shopper_type: str | None = None
    cluster: str | None = None
    clv: float | None = None
    probability_alive: float | None = None
    churn_risk: float | None = None


class MemberInsightOut(MemberScores):
    model_run_id: int
    scored_at: datetime
    data_until: datetime


class SegmentCount(BaseModel):
    rfm_segment: str | None
    members: int
    mean_clv: float | None
    mean_churn_risk: float | None
