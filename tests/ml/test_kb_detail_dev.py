"""The dev-only study of "details the article does not state" (scripts/kb_detail_dev.py): its features on
hand-made texts and its grouped folds; no encoder, database or question file is loaded."""

import numpy as np
import pytest

from knowledge.lexical import tokenize
from ml import kb_shop
from scripts import kb_detail_dev as study

SHIPPING = (
    "Shipping times and carriers. Standard shipping takes 3-5 business days in the contiguous US and 5-9 "
    "business days to Alaska, Hawaii and Canada. We ship with UPS, FedEx, DHL and USPS."
)


def _article(text: str) -> study.ArticleText:
    parts = tuple(frozenset(tokenize(s)) for s in text.split(". "))
    return study.ArticleText(frozenset(tokenize(text)), parts, text.lower())


def _features(question: str, named: list[set[str]] | None = None) -> tuple[float, ...]:
    idf = ({"ship": 0.5, "hawaii": 6.0, "canada": 5.0}, 8.0)
    words = study.content_stems(question)
    return study.detail_features(words, _article(SHIPPING), idf, (named or [], []))


def test_a_question_in_the_articles_words_is_covered_and_misses_nothing():
    cover, best_sentence, rarest, mass, entities, numbers = _features("do you ship to hawaii", [{"hawaii"}])
    assert (cover, best_sentence, rarest, mass, entities, numbers) == (1.0, 1.0, 0.0, 0.0, 0.0, 0.0)


def test_a_detail_the_article_lacks_lowers_coverage_and_counts_as_missing():
    cover, best_sentence, rarest, mass, entities, _ = _features("do you ship to guam", [{"guam"}])
    assert cover == 0.5  # "ship" is there, "guam" is not
    assert best_sentence == 0.5
    assert rarest == 1.0  # unseen in the general texts: the rarest possible word
    assert mass == 8.0 / 8.5
    assert entities == 1.0


def test_the_best_sentence_covers_less_than_the_article_when_words_are_spread():
    cover, best_sentence, *_ = _features("ups delivery to canada")
    assert cover == pytest.approx(2 / 3)  # ups and canada are in the article, in two sentences
    assert best_sentence == 1 / 3


def test_question_words_are_not_content_words():
    assert study.content_stems("how much do you charge for shipping") == ["charg", "ship"]


def test_answer_types_flag_a_price_or_a_duration_the_article_does_not_state():
    assert study.answer_types("how much is shipping to canada", SHIPPING.lower()) == (1.0, 0.0)
    assert study.answer_types("how much is plus", "plus costs $14.99 a month") == (0.0, 0.0)
    assert study.answer_types("how long does a repair take", "we repair tents") == (0.0, 1.0)
    assert study.answer_types("how long does shipping take", SHIPPING.lower()) == (0.0, 0.0)


def test_writers_follow_the_question_files_id_ranges():
    ids = ("q001", "q279", "q280", "q514", "q515", "q775")
    assert [study.writer_of(i) for i in ids] == [0, 0, 1, 1, 2, 2]


def test_grouped_folds_keep_one_writers_questions_on_one_article_together():
    ids = tuple(f"q{n:03d}" for n in (1, 2, 3, 300, 301, 600, 601))
    labels = ["plans", "plans", "none", "plans", "plans", "none", "none"]
    data = kb_shop.Decisions(("x",), np.zeros((7, 1)), np.zeros(7), np.arange(7), np.ones(7, dtype=bool), ids)
    for fold in study.grouped_folds(data, labels):
        assert fold[0] == fold[1] and fold[3] == fold[4] and fold[5] == fold[6]
