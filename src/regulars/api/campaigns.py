"""Campaigns: define, send to the audience with a control group, read the results."""

from dataclasses import asdict
from typing import Annotated

from fastapi import Depends, Path, Request, status

from regulars.access.models import Role
from regulars.access.service import Principal
from regulars.api.dependencies import DbSession, allow
from regulars.api.unit_of_work import routes
from regulars.campaigns import service
from regulars.campaigns.optout import Links
from regulars.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    ResultsOut,
    SentOut,
)
from regulars.clock import utc_now

router = routes(prefix="/v1/campaigns", tags=["campaigns"])
Marketing = Annotated[Principal, Depends(allow(Role.MARKETING))]
Readers = Annotated[Principal, Depends(allow(Role.MARKETING, Role.ANALYST))]
Name = Annotated[str, Path(min_length=1, max_length=100)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create(data: CampaignIn, session: DbSession, caller: Marketing) -> CampaignOut:
    """Define a campaign; its message, audience and coupon are checked now."""
    values = data.model_dump(exclude={"translations"})
    translations = {str(k): (v.subject, v.body) for k, v in data.translations.items()}
    draft = service.CampaignDraft(**values, translations=translations)
    return CampaignOut.model_validate(
        service.create_campaign(session, draft=draft, now=utc_now(), actor=caller.name)
    )


@router.get("")
def list_all(session: DbSession, caller: Readers) -> list[CampaignOut]:
    """Every campaign, newest first."""
    return [CampaignOut.model_validate(c) for c in service.list_campaigns(session)]


@router.post("/{name}/send")
def send(name: Name, session: DbSession, caller: Marketing, request: Request) -> SentOut:
    """Send the campaign to its audience as it is now; a control group is held back."""
    settings = request.app.state.settings
    links = Links(settings.public_url, request.app.state.secret)
    sent = service.send_campaign(
        session, name=name, now=utc_now(), weekly_cap=settings.marketing_per_week, links=links
    )
    return SentOut(**asdict(sent))


@router.get("/{name}/results")
def results(name: Name, session: DbSession, caller: Readers, request: Request) -> ResultsOut:
    """Each group's figures in the window after the send, and the uplift with its interval;
    the cost, and the return at the chain's gross margin."""
    margin = request.app.state.settings.gross_margin
    found = service.campaign_results(session, name=name, now=utc_now(), gross_margin=margin)
    return ResultsOut(
        **ResultsOut.figures(found), messages=found.messages, window_end=found.window_end
    )
