"""Suggest a new case's category from the customer's own words, learnt from past cases.

Agents file cases under a category by hand; a model trained on the cases already filed
proposes one for a new complaint, with how sure it is, so the agent only confirms it. The
words are weighted by TF-IDF and a multinomial logistic regression turns them into a
probability per category: a linear model refits on a few thousand labelled cases in well
under a second, learns from a few hundred examples, and its probabilities are calibrated
enough to show as a confidence.

Complaints come in Chinese and English, and Chinese has no spaces between words, so a
Chinese run of text is segmented into words with jieba (in search mode, which also keeps
the shorter words inside a long one: 收银员 gives 收银 too) and, since jieba's dictionary
misses shop jargon, into overlapping character pairs as well. Latin text is split into
lower-cased words and pairs of neighbouring words ("not fresh", "out of stock").

``measure`` tells whether the suggestions are worth showing: it holds back a quarter of
the labelled cases, reports the accuracy on them next to always guessing the most common
category, and then refits on everything.
"""

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.cases.models import CaseCategory
from regulars.errors import InvalidInput

_RUNS = re.compile(r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|(?P<word>[^\W_]+)")


class InvalidTrainingSet(InvalidInput, ValueError):
    """Labelled cases a model cannot learn from; a ``ValueError`` too, as scikit-learn's are."""


@cache
def _jieba() -> ModuleType:
    """jieba, its dictionary loaded once: the load takes most of a second, so it waits for
    the first Chinese text, and its log lines are silenced so CLI output stays clean."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@dataclass(frozen=True)
class ComplaintWords:
    """The analyzer: a text's words in both languages, for ``TfidfVectorizer``.

    A class rather than a closure so a fitted model can be pickled.
    """

    han_pairs: bool = True
    word_pairs: bool = True

    def __call__(self, text: str) -> list[str]:
        tokens: list[str] = []
        latin: list[str] = []
        for run in _RUNS.finditer(text.lower()):
            han = run.group("han")
            if han is None:
                word = run.group("word")
                latin.append("<num>" if word.isdigit() else word)
                continue
            self._add_latin(tokens, latin)
            latin = []
            tokens.extend(_jieba().lcut_for_search(han))
            if self.han_pairs:
                tokens.extend(f"«{han[i : i + 2]}»" for i in range(len(han) - 1))
        self._add_latin(tokens, latin)
        return tokens

    def _add_latin(self, tokens: list[str], words: list[str]) -> None:
        tokens.extend(words)
        if self.word_pairs:
            tokens.extend(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))


@dataclass(frozen=True)
class Suggestion:
    """A proposed category and the model's probability that it is the right one."""

    category: CaseCategory
    confidence: float


class CategoryModel(BaseEstimator):
    """TF-IDF weighted words of complaints and a logistic regression over case categories.

    Args:
        C: inverse regularisation strength; larger trusts rare words more.
        han_pairs: add overlapping pairs of Chinese characters to jieba's words, which
            catches words its dictionary lacks.
        word_pairs: add pairs of neighbouring Latin words, which keeps negations and
            phrases ("not fresh", "out of stock") together.
        min_df: a word must appear in this many training texts to count; 1 keeps the
            rare words that name a category precisely.
        max_iter: iterations the solver may use.
    """

    def __init__(
        self,
        *,
        C: float = 10.0,
        han_pairs: bool = True,
        word_pairs: bool = True,
        min_df: int = 1,
        max_iter: int = 1000,
    ) -> None:
        self.C = C
        self.han_pairs = han_pairs
        self.word_pairs = word_pairs
        self.min_df = min_df
        self.max_iter = max_iter

    def fit(self, texts: Sequence[str], categories: Sequence[CaseCategory | str]) -> Self:
        """Learn each category's vocabulary from texts already filed under it.

        Raises:
            InvalidTrainingSet: there are no texts, a text is not a string, the number of
                categories differs from the number of texts, a category is unknown, the
                texts span fewer than two categories, or none of them has a word.
        """
        labels = _check_training_set(texts, categories)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=ComplaintWords(han_pairs=self.han_pairs, word_pairs=self.word_pairs),
            min_df=self.min_df,
            sublinear_tf=True,
            dtype=np.float32,  # the solver runs several times faster, just as accurate
        )
        try:
            weights = self.vectorizer_.fit_transform(texts)
        except ValueError as error:  # every text empty, or no word in enough texts
            raise InvalidTrainingSet(
                f"texts: no words to learn from ({error})", field="texts"
            ) from error
        # Terms dropped by min_df are the texts' words: the model should not keep them.
        if hasattr(self.vectorizer_, "stop_words_"):
            del self.vectorizer_.stop_words_
        self.classifier_ = LogisticRegression(
            C=self.C, solver="newton-cg", max_iter=self.max_iter
        ).fit(weights, [label.value for label in labels])
        self.categories_ = tuple(CaseCategory(c) for c in self.classifier_.classes_)
        return self

    def category_probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Each text's probability of each category, in the order of ``categories_``."""
        if not hasattr(self, "classifier_"):
            raise ModelNotFitted("fit the category model before suggesting", field="model")
        if isinstance(texts, str):
            raise InvalidInput("texts must be a list of texts, not one text", field="texts")
        if len(texts) == 0:
            return np.empty((0, len(self.categories_)))
        weights = self.vectorizer_.transform(texts)
        return np.asarray(self.classifier_.predict_proba(weights), dtype=np.float64)

    def suggest_many(self, texts: Sequence[str]) -> list[Suggestion]:
        """The most likely category of each text, with its probability."""
        probabilities = self.category_probabilities(texts)
        best = probabilities.argmax(axis=1)
        return [
            Suggestion(self.categories_[b], float(probabilities[i, b])) for i, b in enumerate(best)
        ]

    def suggest(self, text: str) -> Suggestion:
        """The most likely category of one complaint, with its probability."""
        return self.suggest_many([text])[0]


@dataclass(frozen=True)
class Measured:
    """A model fitted on every labelled text, and how well it did on texts it had not seen.

    ``accuracy`` and ``recall`` come from a model fitted on the ``n_train`` texts and tested
    on the other ``n_test``; ``baseline_accuracy`` is what always suggesting the most
    common training category would have scored on the same test texts. ``recall`` holds,
    for each category among the test texts, the share of its texts suggested right.
    """

    model: CategoryModel
    accuracy: float
    baseline_accuracy: float
    n_train: int
    n_test: int
    recall: dict[CaseCategory, float] = field(default_factory=dict)


def measure(
    texts: Sequence[str],
    categories: Sequence[CaseCategory | str],
    *,
    held_out: float = 0.25,
    random_state: int = 0,
    model: CategoryModel | None = None,
) -> Measured:
    """Test a category model on a held-out share of labelled texts, then refit it on all.

    The split is stratified by category where every category has at least two texts, so
    rare categories are tested too. ``model`` supplies the hyper-parameters (default:
    ``CategoryModel()``); it is left unfitted.

    Raises:
        InvalidTrainingSet: as ``CategoryModel.fit``, or ``held_out`` is not between 0
            and 1, or leaves no text to train or to test on.
    """
    labels = _check_training_set(texts, categories)
    if not 0.0 < held_out < 1.0:
        raise InvalidTrainingSet(
            f"held_out must be between 0 and 1, not {held_out}", field="held_out"
        )
    n_test = int(np.ceil(held_out * len(labels)))
    if n_test >= len(labels):
        raise InvalidTrainingSet(
            f"held_out {held_out} of {len(labels)} texts leaves none to train on",
            field="held_out",
        )
    counts = Counter(labels)
    # Stratifying needs two texts of every category and room for each on both sides.
    room = min(n_test, len(labels) - n_test) >= len(counts)
    stratified = room and min(counts.values()) >= 2
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        list(texts),
        labels,
        test_size=n_test,
        random_state=random_state,
        stratify=labels if stratified else None,
    )
    template = model if model is not None else CategoryModel()
    tested = clone(template).fit(train_texts, train_labels)
    suggested = [s.category for s in tested.suggest_many(test_texts)]
    right = np.array([s == t for s, t in zip(suggested, test_labels, strict=True)])
    common = Counter(train_labels).most_common(1)[0][0]
    recall = {
        category: float(right[[t == category for t in test_labels]].mean())
        for category in sorted(set(test_labels), key=list(CaseCategory).index)
    }
    return Measured(
        model=clone(template).fit(texts, labels),
        accuracy=float(right.mean()),
        baseline_accuracy=float(np.mean([t == common for t in test_labels])),
        n_train=len(train_labels),
        n_test=len(test_labels),
        recall=recall,
    )


def _check_training_set(
    texts: Sequence[str], categories: Sequence[CaseCategory | str]
) -> list[CaseCategory]:
    if isinstance(texts, str):
        raise InvalidTrainingSet("texts must be a list of texts, not one text", field="texts")
    if len(texts) == 0:
        raise InvalidTrainingSet("texts: no labelled texts to learn from", field="texts")
    if len(categories) != len(texts):
        raise InvalidTrainingSet(
            f"categories: {len(categories)} categories for {len(texts)} texts; "
            "each text needs its category",
            field="categories",
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidTrainingSet(
                f"texts[{i}] is {type(text).__name__}, not a text", field="texts"
            )
    labels: list[CaseCategory] = []
    for i, category in enumerate(categories):
        try:
            labels.append(CaseCategory(category))
        except ValueError:
            raise InvalidTrainingSet(
                f"categories[{i}]: {category!r} is not a case category", field="categories"
            ) from None
    if len(set(labels)) < 2:
        raise InvalidTrainingSet(
            f"categories: every text is {labels[0].value}; a model needs at least two "
            "categories to tell apart",
            field="categories",
        )
    return labels
