"""What a survey may ask, on which scale, in both languages; whether an answer fits; and
which purchases are sampled for an invitation."""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from regulars.errors import InvalidInput

# The shop's attributes a member may rate, with their names in Chinese and English.
ATTRIBUTES: Final = {
    "product_quality": ("商品质量", "Product quality"),
    "freshness": ("生鲜新鲜度", "Freshness"),
    "price": ("价格", "Prices"),
    "promotions": ("促销活动", "Promotions"),
    "staff": ("员工服务", "Staff"),
    "checkout_speed": ("结账速度", "Checkout speed"),
    "cleanliness": ("整洁卫生", "Cleanliness"),
    "layout": ("商品陈列与布局", "Layout"),
    "parking": ("停车", "Parking"),
    "online_ordering": ("线上下单", "Online ordering"),
    "availability": ("商品齐全", "Products in stock"),
}
RATING: Final = "rating:"
COMMENT: Final = "comment"
MAX_COMMENT: Final = 2000


@dataclass(frozen=True)
class Question:
    key: str
    low: int  # the scale; a comment has none (0, 0)
    high: int
    zh: str
    en: str

    @property
    def scored(self) -> bool:
        return self.key != COMMENT

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.zh


_FIXED: Final = {
    "nps": Question(
        "nps", 0, 10, "您有多大可能向亲友推荐我们的超市？",
        "How likely are you to recommend us to a friend or relative?",
    ),
    "csat": Question(
        "csat", 1, 5, "您对这次购物（或服务）满意吗？",
        "How satisfied are you with this visit (or this service)?",
    ),
    "effort": Question(
        "effort", 1, 7, "我们让这件事变得轻松容易。您是否同意？",
        "We made it easy for you. Do you agree?",
    ),
    "overall": Question(
        "overall", 1, 10, "总体而言，您对我们的超市满意吗？",
        "Overall, how satisfied are you with our shop?",
    ),
    COMMENT: Question(
        COMMENT, 0, 0, "还有什么想告诉我们的吗？", "Anything else you would like to tell us?"
    ),
}  # fmt: skip


def question(key: str) -> Question:
    """The question a key names: a fixed one, or the rating of an attribute."""
    if key in _FIXED:
        return _FIXED[key]
    attribute = key.removeprefix(RATING)
    if key.startswith(RATING) and attribute in ATTRIBUTES:
        zh, en = ATTRIBUTES[attribute]
        return Question(key, 1, 10, f"请为“{zh}”打分", f"How do you rate us on {en.lower()}?")
    known = ", ".join([*_FIXED, *(RATING + a for a in ATTRIBUTES)])
    raise InvalidInput(f"no question {key!r}; a survey may ask {known}", field="questions")


def check_questions(keys: Sequence[str]) -> list[Question]:
    """A survey's questions: known, each once, at least one scored."""
    questions = [question(k) for k in keys]
    if len(set(keys)) != len(keys):
        raise InvalidInput("a survey asks each question once", field="questions")
    if not any(q.scored for q in questions):
        raise InvalidInput("a survey asks at least one question with a score", field="questions")
    return questions


@dataclass(frozen=True)
class Answers:
    scores: dict[str, int]  # question key: score
    comment: str

    def score(self, key: str) -> int | None:
        return self.scores.get(key)

    @property
    def ratings(self) -> dict[str, int]:
        return {k.removeprefix(RATING): v for k, v in self.scores.items() if k.startswith(RATING)}


def check_answers(questions: Sequence[Question], given: Mapping[str, object]) -> Answers:
    """Every scored question answered within its scale, nothing the survey did not ask."""
    asked = {q.key: q for q in questions}
    for key in given:
        if key not in asked:
            raise InvalidInput(f"this survey does not ask {key!r}", field=f"answers.{key}")
    scores = {}
    for q in questions:
        value = given.get(q.key)
        if not q.scored:
            text = "" if value is None else value
            if not isinstance(text, str) or len(text) > MAX_COMMENT:
                raise InvalidInput(
                    f"a comment is text of at most {MAX_COMMENT} characters",
                    field="answers.comment",
                )
            continue
        if value is None:
            raise InvalidInput(f"{q.key} is not answered", field=f"answers.{q.key}")
        if isinstance(value, bool) or not isinstance(value, int) or not q.low <= value <= q.high:
            raise InvalidInput(
                f"{q.key} is a whole number from {q.low} to {q.high}", field=f"answers.{q.key}"
            )
        scores[q.key] = value
    comment = given.get(COMMENT)
    return Answers(scores, comment.strip() if isinstance(comment, str) else "")


def sampled(survey_id: int, receipt_id: int, percent: int) -> bool:
    """Whether a purchase is in a survey's sample: the same answer however often asked."""
    digest = hashlib.sha256(f"survey:{survey_id}:{receipt_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def nps_group(score: int) -> str:
    """Promoter (9–10), passive (7–8) or detractor (0–6)."""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
