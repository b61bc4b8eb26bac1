"""The promotions running for a member on what they are likely to buy next: which of the
chain's offers to tell them about.

A promotion is taken up by buying its goods while it runs, so a member's likeliest are the
ones on the products of their recommended list (what they are due to buy again or may also
like), the promotion on the better placed product first. Only promotions the member may
use are shown: member and tier offers by their tier, store and channel offers by the store
they joined at, from when one starts until it ends (a member-day offer is shown on other
days too, with its days). Offers on every item, such as spend-and-save, are for everyone
alike and are not listed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from regulars.catalog.service import catalog_copy
from regulars.insights.recommendations import Shown
from regulars.members.service import get_member
from regulars.program.schema import Promotion
from regulars.program.service import NoProgram, active_program
from regulars.promotions.rules import Occasion, Shopper, eligible, meant_for, on_every_item
from regulars.tiers.service import current_tier

PER_MEMBER: Final = 3


@dataclass(frozen=True)
class PromotionFor:
    code: str
    name: str
    kind: str
    weekdays: list[str]
    ends: datetime | None
    skus: list[str]  # the member's listed products it is on, best placed first


def promotions_for(
    session: Session,
    *,
    member_id: int,
    products: Sequence[Shown],
    now: datetime,
    limit: int = PER_MEMBER,
) -> list[PromotionFor]:
    """The promotions on ``products`` (the member's list, best first) the member may use."""
    try:
        _, program = active_program(session)
    except NoProgram:
        return []
    member = get_member(session, member_id=member_id)
    store = member.join_store
    occasion = Occasion(
        store=store.code if store else "",
        channel=str(store.channel) if store else "store",
        at=now.astimezone(ZoneInfo(store.timezone if store else program.timezone)),
    )
    shopper = Shopper(
        member=True, tier=current_tier(session, member_id=member_id, program=program).code
    )
    catalog = catalog_copy(session)
    known = catalog.products(session, [p.sku for p in products])
    goods = [
        (p.sku, catalog.categories_of(session, known[p.sku]))
        for p in products
        if p.sku in known and not known[p.sku].excluded_from_promotions
    ]
    found: list[tuple[int, int, PromotionFor]] = []
    for promotion in program.promotions:
        if on_every_item(promotion) or not _open_to(promotion, shopper, occasion):
            continue
        places = [
            i for i, (sku, categories) in enumerate(goods) if meant_for(promotion, sku, categories)
        ]
        if places:
            found.append((places[0], promotion.priority, PromotionFor(
                promotion.code, promotion.name, promotion.kind, list(promotion.weekdays),
                promotion.ends, [goods[i][0] for i in places],
            )))  # fmt: skip
    found.sort(key=lambda placed: placed[:2])
    return [promotion for _, _, promotion in found[:limit]]


def _open_to(promotion: Promotion, shopper: Shopper, occasion: Occasion) -> bool:
    """The member may use it here, now or on one of its days."""
    return eligible(promotion.model_copy(update={"weekdays": []}), shopper, occasion) is None
