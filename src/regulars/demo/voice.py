"""The demo chain's customer voice: business hours and service levels, complaints worked
through the workflow (some late), two surveys, and members' answers.

The answers follow a hidden truth kept in demo_driver_truth: each attribute's weight in
overall satisfaction. Stores differ in how well they do on each attribute; a member rates
every attribute with their own leniency; the overall rating is the weighted ratings plus
noise, and the recommendation score follows the overall rating, higher for members who go
on shopping and who spend more. A case answered late leaves a less satisfied member.
"""

from datetime import datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from regulars.cases.hours import set_opening_hours
from regulars.cases.levels import set_policy
from regulars.cases.models import Case, CaseCategory, CaseChannel, Severity
from regulars.cases.rules import CaseState
from regulars.cases.service import NewCase, give_goodwill, move_case, open_case
from regulars.catalog.models import Product, Store
from regulars.demo.complaints import CATEGORY_SHARES, complaint_text
from regulars.demo.generator import ZONE
from regulars.demo.models import DemoDriverTruth
from regulars.members.models import ConsentChannel, Member
from regulars.sales.models import Receipt, ReceiptLine
from regulars.surveys.models import SurveyInvitation, SurveyTrigger
from regulars.surveys.service import SurveyDraft, answer_survey, create_survey, get_survey

# The hidden truth: how much each attribute's rating moves overall satisfaction.
DRIVERS = {  # attribute: (weight, how well the chain does on it, 1 to 10)
    "freshness": (0.28, 6.3),
    "checkout_speed": (0.20, 6.6),
    "staff": (0.15, 7.5),
    "price": (0.11, 6.8),
    "availability": (0.08, 7.2),
    "cleanliness": (0.06, 7.6),
    "promotions": (0.04, 6.2),
    "parking": (0.02, 7.3),
}
COMPLAINT_ABOUT = {  # what a dissatisfied member writes about their worst rating
    "freshness": CaseCategory.FRESHNESS,
    "checkout_speed": CaseCategory.CHECKOUT_WAIT,
    "staff": CaseCategory.STAFF_ATTITUDE,
    "price": CaseCategory.PRICE_ERROR,
    "availability": CaseCategory.OUT_OF_STOCK,
    "cleanliness": CaseCategory.STORE_ENVIRONMENT,
}
VISIT_SURVEY = "after-visit"
CASE_SURVEY = "case-follow-up"
HISTORY = timedelta(days=180)  # the span of the survey answers and cases
SAMPLE = 0.6  # of purchases followed by an invitation
ANSWERED = 0.65  # of invitations
CAP = timedelta(days=7)
CASES_PER_MEMBER = 0.3
LEVELS = {  # severity: first response and resolution, in business minutes
    Severity.LOW: (480, 4320),
    Severity.MEDIUM: (240, 1440),
    Severity.HIGH: (120, 480),
    Severity.CRITICAL: (30, 240),
}
SEVERITY_SHARES = {Severity.LOW: 0.3, Severity.MEDIUM: 0.45, Severity.HIGH: 0.2,
                   Severity.CRITICAL: 0.05}  # fmt: skip
AGENT = "support"
GOODWILL = {CaseCategory.FRESHNESS, CaseCategory.PRODUCT_QUALITY, CaseCategory.PRICE_ERROR}


def _surveys(session: Session, now: datetime) -> None:
    visit = SurveyDraft(
        code=VISIT_SURVEY, title="购物体验调查", title_en="How was your visit?",
        questions=["nps", "overall", *(f"rating:{a}" for a in DRIVERS), "comment"],
        trigger=SurveyTrigger.PURCHASE, channel=ConsentChannel.SMS, points=20,
        sample_percent=int(SAMPLE * 100), cap_days=CAP.days,
    )  # fmt: skip
    handled = SurveyDraft(
        code=CASE_SURVEY, title="投诉处理回访", title_en="How did we handle your complaint?",
        questions=["csat", "effort", "comment"], trigger=SurveyTrigger.CASE,
        channel=ConsentChannel.SMS, points=10,
    )  # fmt: skip
    for draft in (visit, handled):
        create_survey(session, draft=draft, now=now - HISTORY - timedelta(days=1))
    session.add_all(DemoDriverTruth(attribute=a, weight=w) for a, (w, _) in DRIVERS.items())


def _service_levels(session: Session, now: datetime) -> None:
    set_opening_hours(session, store_code=None, hours={d: (time(8), time(22)) for d in range(7)})
    for category in CaseCategory:
        for severity, (first, resolution) in LEVELS.items():
            set_policy(
                session, category=category, severity=severity,
                first_response=timedelta(minutes=first), resolution=timedelta(minutes=resolution),
                now=now - HISTORY - timedelta(days=1),
            )  # fmt: skip


def _purchases(
    session: Session, since: datetime, until: datetime
) -> list[tuple[int, int, int, datetime]]:
    """(receipt, member, store, sold at) of members' purchases in the span, by time."""
    return [
        (r.id, r.member_id, r.store_id, r.sold_at)
        for r in session.execute(
            select(Receipt.id, Receipt.member_id, Receipt.store_id, Receipt.sold_at)
            .where(Receipt.member_id.is_not(None), Receipt.sold_at > since, Receipt.sold_at < until)
            .order_by(Receipt.sold_at)
        )
    ]


def _answer_visits(
    session: Session,
    rng: np.random.Generator,
    purchases: list[tuple[int, int, int, datetime]],
    leaving: dict[int, datetime],
    spend: dict[int, float],
    history_end: datetime,
) -> int:
    survey = get_survey(session, code=VISIT_SURVEY)
    stores = sorted({store for _, _, store, _ in purchases})
    chain = np.array([level for _, level in DRIVERS.values()])
    doing = {s: chain + rng.normal(0, 0.4, len(DRIVERS)) for s in stores}  # each store's own
    leniency: dict[int, float] = {}
    last_invited: dict[int, datetime] = {}
    weights = np.array([weight for weight, _ in DRIVERS.values()])
    log_spend = {m: np.log(max(v, 1.0)) for m, v in spend.items()}
    typical = float(np.mean(list(log_spend.values()))) if log_spend else 0.0
    answered = 0
    for receipt_id, member_id, store_id, sold_at in purchases:
        if rng.random() >= SAMPLE or sold_at - last_invited.get(member_id, sold_at - CAP) < CAP:
            continue
        last_invited[member_id] = sold_at
        invitation = SurveyInvitation(
            survey_id=survey.id, member_id=member_id, store_id=store_id, receipt_id=receipt_id,
            invited_at=sold_at + timedelta(hours=1),
            expires_at=sold_at + timedelta(days=survey.valid_days),
        )  # fmt: skip
        session.add(invitation)
        session.flush()
        at = sold_at + timedelta(hours=float(rng.uniform(1.5, 48)))
        if rng.random() >= ANSWERED or at >= history_end:
            continue
        bias = leniency.setdefault(member_id, float(rng.normal(0, 0.5)))
        ratings = np.clip(np.rint(doing[store_id] + bias + rng.normal(0, 1.6, len(DRIVERS))), 1, 10)
        overall = 7 + float(weights @ (ratings - chain)) + bias * 0.2 + rng.normal(0, 0.3)
        gone = leaving.get(member_id)
        stays = gone is None or gone > at + timedelta(days=90)
        loyal = (0.6 if stays else -1.2) + 0.4 * (log_spend.get(member_id, typical) - typical)
        nps = overall + 0.5 + loyal + rng.normal(0, 0.9)
        answers: dict[str, object] = {
            "nps": int(np.clip(round(nps), 0, 10)),
            "overall": int(np.clip(round(overall), 1, 10)),
            **{f"rating:{a}": int(r) for a, r in zip(DRIVERS, ratings, strict=True)},
        }
        worst = list(DRIVERS)[int(np.argmin(ratings))]
        if nps < 6.5 and rng.random() < 0.4 and worst in COMPLAINT_ABOUT:
            answers["comment"] = complaint_text(COMPLAINT_ABOUT[worst], "zh-CN", rng)
        answer_survey(session, invitation_id=invitation.id, answers=answers, now=at)
        answered += 1
    return answered


def _cases(
    session: Session,
    rng: np.random.Generator,
    purchases: list[tuple[int, int, int, datetime]],
    leaving: dict[int, datetime],
    history_end: datetime,
) -> tuple[int, int]:
    """Complaints about recent purchases, worked through the workflow; a member who leaves
    soon after was more often kept waiting. (cases, follow-up answers)"""
    members = {m for _, m, _, _ in purchases}
    codes = {s.id: s.code for s in session.execute(select(Store.id, Store.code))}
    languages = {m.id: m.language for m in session.execute(select(Member.id, Member.language))}
    categories = list(CATEGORY_SHARES)
    survey = get_survey(session, code=CASE_SURVEY)
    count = int(len(members) * CASES_PER_MEMBER)
    opened_count = answered = 0
    for index in rng.choice(len(purchases), size=min(count, len(purchases)), replace=False):
        receipt_id, member_id, store_id, sold_at = purchases[int(index)]
        day = (sold_at + timedelta(days=int(rng.integers(0, 3)))).astimezone(ZONE).date()
        opened_at = datetime.combine(day, time(8), ZONE) + timedelta(minutes=int(rng.integers(780)))
        if opened_at >= history_end:
            continue
        shares = np.array([CATEGORY_SHARES[c] for c in categories])
        shares[store_id % len(categories)] *= 3  # each store has its own sore point
        category = categories[int(rng.choice(len(categories), p=shares / shares.sum()))]
        severity = list(SEVERITY_SHARES)[
            int(rng.choice(len(SEVERITY_SHARES), p=list(SEVERITY_SHARES.values())))
        ]
        product = session.scalar(
            select(Product.name).join(ReceiptLine, ReceiptLine.product_id == Product.id)
            .where(ReceiptLine.receipt_id == receipt_id).limit(1)
        )  # fmt: skip
        language = languages.get(member_id) or ("en" if rng.random() < 0.2 else "zh-CN")
        case = open_case(
            session,
            case=NewCase(
                channel=list(CaseChannel)[int(rng.integers(len(CaseChannel)))],
                store_code=codes[store_id], category=category, severity=severity,
                description=complaint_text(category, language, rng, product),
                member_id=member_id, receipt_id=receipt_id,
            ),
            now=opened_at, actor=AGENT,
        )  # fmt: skip
        opened_count += 1
        gone = leaving.get(member_id)
        late = rng.random() < (
            0.6 if gone is not None and gone < opened_at + timedelta(days=90) else 0.2
        )
        first, resolution = LEVELS[severity]
        answered_at = opened_at + timedelta(
            minutes=first * float(rng.uniform(1.5, 4) if late else rng.uniform(0.1, 0.8))
        )
        resolved_at = opened_at + timedelta(
            minutes=resolution * float(rng.uniform(2, 6) if late else rng.uniform(0.2, 0.9))
        )
        closed_at = resolved_at + timedelta(days=1)
        steps = [(answered_at, CaseState.ACKNOWLEDGED), (answered_at, CaseState.IN_PROGRESS),
                 (resolved_at, CaseState.RESOLVED), (closed_at, CaseState.CLOSED)]  # fmt: skip
        for at, state in steps:
            if at >= history_end:
                break
            move_case(session, case_id=case.id, state=state, now=at, actor=AGENT)
            if state is CaseState.RESOLVED and category in GOODWILL and rng.random() < 0.3:
                give_goodwill(
                    session, case_id=case.id, points=100, coupon_template=None,
                    reason="sorry for the trouble", cap=500, now=at, actor=AGENT,
                )  # fmt: skip
        if case.state is CaseState.CLOSED and rng.random() < ANSWERED:
            answered += _follow_up(session, rng, survey.id, case, late, closed_at)
    return opened_count, answered


def _follow_up(
    session: Session,
    rng: np.random.Generator,
    survey_id: int,
    case: Case,
    late: bool,
    closed_at: datetime,
) -> int:
    """The closed loop: the member asked how the case was handled; a late case, less kindly."""
    invitation = SurveyInvitation(
        survey_id=survey_id, member_id=case.member_id, store_id=case.store_id, case_id=case.id,
        invited_at=closed_at, expires_at=closed_at + timedelta(days=14),
    )  # fmt: skip
    session.add(invitation)
    session.flush()
    mood = rng.normal(-1.6 if late else 0, 0.8)
    answers = {
        "csat": int(np.clip(round(4.3 + mood), 1, 5)),
        "effort": int(np.clip(round(5.8 + 1.5 * mood), 1, 7)),
    }
    answer_survey(
        session, invitation_id=invitation.id, answers=answers, now=closed_at + timedelta(hours=3)
    )
    return 1


def write_voice(
    session: Session,
    *,
    now: datetime,
    seed: int,
    history_end: datetime,
    leaving: dict[int, datetime],
    spend: dict[int, float],
) -> dict[str, int]:
    """Service levels, surveys, cases and answers over the last half year of the history;
    how many of each. `leaving` says when members stopped shopping, `spend` their usual
    basket."""
    rng = np.random.default_rng(seed + 13)
    _service_levels(session, now)
    _surveys(session, now)
    purchases = _purchases(session, history_end - HISTORY, history_end)
    answers = _answer_visits(session, rng, purchases, leaving, spend, history_end)
    cases, follow_ups = _cases(session, rng, purchases, leaving, history_end)
    return {"survey answers": answers + follow_ups, "cases": cases}
