"""The category suggester, learnt and judged on the demo's labelled complaints: no database.

The complaints are synthetic but built like real ones (varied wording, a second problem now
and then, some that say only that something went wrong), so held-out accuracy is high but
not perfect, and far above always guessing the most common category.
"""

import pickle

import numpy as np
import pytest

from regulars.analytics.clv_fitting import ModelNotFitted
from regulars.cases.models import CaseCategory
from regulars.cases.suggest import (
    CategoryModel,
    ComplaintWords,
    InvalidTrainingSet,
    Suggestion,
    measure,
)
from regulars.demo.complaints import CATEGORY_SHARES, complaint_text, labelled_complaints
from regulars.errors import InvalidInput

C = CaseCategory


def corpus(n: int, *, seed: int, chinese_share: float) -> tuple[list[str], list[CaseCategory]]:
    pairs = labelled_complaints(n, np.random.default_rng(seed), chinese_share=chinese_share)
    return [text for text, _ in pairs], [category for _, category in pairs]


@pytest.mark.parametrize("chinese_share", [1.0, 0.0], ids=["zh-CN", "en"])
def test_held_out_accuracy_is_high_and_far_above_always_guessing_the_commonest(
    chinese_share: float,
) -> None:
    texts, categories = corpus(1200, seed=1, chinese_share=chinese_share)
    measured = measure(texts, categories)
    assert (measured.n_train, measured.n_test) == (900, 300)
    assert 0.8 <= measured.accuracy < 1.0  # ambiguous and vague complaints cost a little
    assert measured.baseline_accuracy < 0.25
    assert measured.accuracy > measured.baseline_accuracy + 0.55
    # Stratified: even the rare "other" is tested, and most of every category is found.
    assert set(measured.recall) == set(CaseCategory)
    assert np.mean(list(measured.recall.values())) > 0.75


def test_measure_refits_on_every_text_with_the_given_hyper_parameters() -> None:
    texts, categories = corpus(400, seed=3, chinese_share=0.7)
    template = CategoryModel(C=3.0, han_pairs=False)
    measured = measure(texts, categories, model=template)
    assert not hasattr(template, "classifier_")
    assert measured.model.C == 3.0
    assert not measured.model.han_pairs
    on_all = CategoryModel(C=3.0, han_pairs=False).fit(texts, categories)
    assert measured.model.vectorizer_.vocabulary_ == on_all.vectorizer_.vocabulary_


def test_jieba_splits_an_unspaced_chinese_sentence_into_its_words() -> None:
    words = ComplaintWords(han_pairs=False, word_pairs=False)
    tokens = words("我昨天买的牛奶已经过期了")
    assert {"昨天", "牛奶", "已经", "过期"} <= set(tokens)
    assert "我昨天买的牛奶已经过期了" not in tokens
    # Search mode also keeps the shorter words inside a long one.
    assert {"收银员", "收银", "态度"} <= set(words("收银员态度很差"))


def test_latin_words_are_lower_cased_and_paired_and_character_pairs_are_added() -> None:
    tokens = ComplaintWords()("The Milk was OFF, 收银慢 2 times")
    assert {"the", "milk", "was", "off", "the milk", "milk was", "<num> times"} <= set(tokens)
    assert {"«收银»", "«银慢»"} <= set(tokens)
    assert "off 收银慢" not in " ".join(tokens)  # pairs never cross a Chinese run


def test_a_model_trained_on_chinese_complaints_files_new_sentences_by_their_words() -> None:
    # Without character pairs, jieba's words are all the model knows of Chinese text; the
    # sentences below are not in the generator's wording.
    model = CategoryModel(han_pairs=False).fit(*corpus(800, seed=2, chinese_share=1.0))
    new = {
        "我家附近那家店的酸奶打开发现已经过期变质了": C.FRESHNESS,
        "周六下午排队结账足足等了四十分钟": C.CHECKOUT_WAIT,
        "我的积分到现在还没到账": C.POINTS_OR_COUPON,
        "保安态度恶劣，还骂人": C.STAFF_ATTITUDE,
        "网上买的东西配送员送错地址了": C.DELIVERY,
        "想买的猫粮一直缺货": C.OUT_OF_STOCK,
    }
    suggested = model.suggest_many(list(new))
    assert [s.category for s in suggested] == list(new.values())
    assert all(s.confidence > 0.5 for s in suggested)


def test_an_english_model_files_new_sentences_by_their_words() -> None:
    model = CategoryModel().fit(*corpus(800, seed=2, chinese_share=0.0))
    assert model.suggest("The yoghurt I bought yesterday had gone mouldy").category == C.FRESHNESS
    assert model.suggest("We queued for forty minutes at the checkout").category == (
        C.CHECKOUT_WAIT
    )


def test_a_suggestion_is_the_most_probable_category_with_its_probability() -> None:
    texts, categories = corpus(500, seed=4, chinese_share=0.7)
    model = CategoryModel().fit(texts, categories)
    probabilities = model.category_probabilities(texts[:20])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    suggestions = model.suggest_many(texts[:20])
    for row, suggestion in zip(probabilities, suggestions, strict=True):
        assert suggestion == Suggestion(model.categories_[row.argmax()], float(row.max()))
    assert model.suggest(texts[0]) == suggestions[0]
    assert model.suggest_many([]) == []
    assert set(model.categories_) == set(categories)


def test_the_model_keeps_no_training_text() -> None:
    texts, categories = corpus(300, seed=5, chinese_share=0.7)
    stored = pickle.dumps(CategoryModel().fit(texts, categories))
    assert not [text for text in texts if text.encode() in stored]


def test_fitting_twice_gives_the_same_model() -> None:
    texts, categories = corpus(300, seed=6, chinese_share=0.7)
    a = CategoryModel().fit(texts, categories).category_probabilities(texts[:50])
    b = CategoryModel().fit(texts, categories).category_probabilities(texts[:50])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("texts", "categories", "problem"),
    [
        ([], [], "no labelled texts"),
        (["牛奶过期了", "排队太久"], [C.FRESHNESS], "1 categories for 2 texts"),
        (["牛奶过期了", "酸奶变质了"], [C.FRESHNESS, "freshness"], "at least two categories"),
        (["牛奶过期了", "排队太久"], [C.FRESHNESS, "queue"], "'queue' is not a case category"),
        (["牛奶过期了", 42], [C.FRESHNESS, C.CHECKOUT_WAIT], r"texts\[1\] is int"),
        (["", " !"], [C.FRESHNESS, C.CHECKOUT_WAIT], "no words"),
    ],
)
def test_a_training_set_it_cannot_learn_from_is_refused_with_the_problem_named(
    texts: list[str], categories: list[CaseCategory | str], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        CategoryModel().fit(texts, categories)
    assert isinstance(refused.value, InvalidTrainingSet)
    assert isinstance(refused.value, InvalidInput)  # the API answers it with a 422


def test_measure_refuses_a_held_out_share_that_leaves_nothing() -> None:
    texts, categories = corpus(40, seed=7, chinese_share=0.7)
    for held_out in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="held_out"):
            measure(texts, categories, held_out=held_out)
    with pytest.raises(ValueError, match="none to train on"):
        measure(texts[:2], categories[:2], held_out=0.9)


def test_suggesting_before_fitting_is_refused() -> None:
    with pytest.raises(ModelNotFitted):
        CategoryModel().suggest("牛奶过期了")


def test_the_demo_complaints_are_varied_natural_and_reproducible() -> None:
    pairs = labelled_complaints(500, np.random.default_rng(8))
    texts = [text for text, _ in pairs]
    assert len(set(texts)) >= 480
    chinese = [t for t in texts if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    assert 0.6 < len(chinese) / len(texts) < 0.8
    assert not [t for t in chinese if " " in t]  # Chinese is written without spaces
    assert not [t for t in texts if "{" in t or "[" in t]  # every slot and choice filled
    assert pairs == labelled_complaints(500, np.random.default_rng(8))
    assert pairs != labelled_complaints(500, np.random.default_rng(9))


def test_the_category_mix_is_unbalanced_like_a_service_desk() -> None:
    categories = [c for _, c in labelled_complaints(4000, np.random.default_rng(10))]
    share = {c: categories.count(c) / len(categories) for c in CaseCategory}
    for common in (C.CHECKOUT_WAIT, C.FRESHNESS, C.STAFF_ATTITUDE, C.OUT_OF_STOCK):
        assert share[common] > 0.11
    assert 0.005 < share[C.OTHER] < 0.04
    assert sum(CATEGORY_SHARES.values()) == pytest.approx(1.0)


def test_a_complaint_names_the_product_it_is_given() -> None:
    rng = np.random.default_rng(11)
    texts = [complaint_text(C.OUT_OF_STOCK, "zh-CN", rng, product="麒麟西瓜") for _ in range(40)]
    assert sum("麒麟西瓜" in t for t in texts) > 20
    with pytest.raises(ValueError, match="language"):
        complaint_text(C.FRESHNESS, "fr", rng)
