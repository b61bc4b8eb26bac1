"""Every feature's tables, imported together so the metadata and migrations see them all."""

from regulars.access import models as access
from regulars.audiences import models as audiences
from regulars.audit import models as audit
from regulars.campaigns import models as campaigns
from regulars.cases import models as cases
from regulars.catalog import models as catalog
from regulars.checkout import models as checkout
from regulars.coupons import models as coupons
from regulars.demo import models as demo
from regulars.idempotency import models as idempotency
from regulars.insights import models as insights
from regulars.journeys import models as journeys
from regulars.members import models as members
from regulars.points import models as points
from regulars.program import models as program
from regulars.promotions import models as promotions
from regulars.referrals import models as referrals
from regulars.rewards import models as rewards
from regulars.sales import models as sales
from regulars.scheduler import models as scheduler
from regulars.staff import models as staff
from regulars.stamps import models as stamps
from regulars.surveys import models as surveys
from regulars.tiers import models as tiers

__all__ = [
    "access",
    "audiences",
    "audit",
    "idempotency",
    "insights",
    "journeys",
    "campaigns",
    "cases",
    "catalog",
    "checkout",
    "coupons",
    "demo",
    "members",
    "points",
    "program",
    "promotions",
    "referrals",
    "rewards",
    "sales",
    "scheduler",
    "staff",
    "stamps",
    "surveys",
    "tiers",
]
