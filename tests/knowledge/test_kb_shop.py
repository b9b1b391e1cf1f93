"""The demo shop's labelled knowledge questions and the calibration the product ships: the file is sound, the
split is the one docs/labelling.md fixes, and the default calibration is the shop's, fitted on dev."""

import hashlib
from collections import Counter

import pytest

from backend.core.config import Settings
from backend.kb.indexing import load_calibrator
from backend.seed_articles import ARTICLES
from knowledge.calibration import BANK_FAQ_PATH, DEFAULT_PATH, Calibrator
from ml.kb_shop import (
    LATER_WRITERS,
    QUESTIONS,
    SHIPPED_FEATURES,
    SPLITS,
    TARGET_ANSWERED,
    TARGET_PRECISION,
    KbQuestion,
    load_questions,
    split_of,
    writer_of,
)

SLUGS = {slug for slug, _, _, _ in ARTICLES}
# Issue 14's example in two spellings; test_kb_api.py asks both.
REGRESSION = ("what's the difference between basic and plus", "what is the difference between basic and plus")


@pytest.fixture(scope="module")
def questions() -> list[KbQuestion]:
    """The first three writers' file, split by the hash of the id."""
    return load_questions(QUESTIONS)


def test_a_later_writers_file_is_dev_whole_and_its_own_writer():
    later = load_questions(LATER_WRITERS[0])
    assert len(later) >= 150 and {q.split for q in later} == {"dev"}
    assert {writer_of(q.id) for q in later} == {3} and all(q.id.startswith("w4q") for q in later)
    for q in later:
        assert q.article is None or q.article in SLUGS, q
    every = load_questions()
    assert len(every) == len(load_questions(QUESTIONS)) + len(later)
    # The test split is the first file's hash half alone: a later writer adds dev questions only.
    assert {q.id for q in every if q.split == "test"} == {
        q.id for q in load_questions(QUESTIONS) if q.split == "test"
    }


def test_a_declared_split_must_be_one_of_the_splits(tmp_path):
    path = tmp_path / "q.yml"
    path.write_text("split: train\nquestions:\n  - {id: w9q001, article: none, text: a}\n")
    with pytest.raises(ValueError, match="split"):
        load_questions(path)
    path.write_text("split: dev\nquestions:\n  - {id: w9q001, article: none, text: a}\n")
    assert load_questions(path)[0].split == "dev" and writer_of("w9q001") == 8


def test_the_questions_file_loads_with_enough_questions_and_the_agreed_mix(questions):
    assert len(questions) >= 240
    assert [q.id for q in questions] == [f"q{n:03d}" for n in range(1, len(questions) + 1)]
    share = sum(q.answerable for q in questions) / len(questions)
    assert 0.65 <= share <= 0.75  # about 70% answerable, 30% not (docs/labelling.md section 3)
    assert len({q.text.lower() for q in questions}) == len(questions)


def test_every_label_names_a_seeded_article_and_every_article_is_asked_about(questions):
    for q in questions:
        assert q.article is None or q.article in SLUGS, q
        assert set(q.also) <= SLUGS - {q.article}, q
    per_article = Counter(q.article for q in questions if q.answerable)
    assert set(per_article) == SLUGS
    assert min(per_article.values()) >= 8


def test_the_regression_question_is_not_in_the_file_verbatim(questions):
    assert all(q.text.lower().strip(" ?") not in REGRESSION for q in questions)


def test_splits_are_disjoint_stable_and_follow_the_labelling_rule(questions):
    by_split = {s: {q.id for q in questions if q.split == s} for s in SPLITS}
    assert not by_split["dev"] & by_split["test"]
    assert by_split["dev"] | by_split["test"] == {q.id for q in questions}
    for q in questions:
        even = hashlib.sha256(q.id.encode()).digest()[0] % 2 == 0
        assert q.split == ("test" if even else "dev")
    # Pinned: a change to the rule would silently move questions between splits (and void the calibration).
    assert [split_of(f"q{n:03d}") for n in range(1, 11)] == [
        "test", "dev", "test", "test", "dev", "dev", "dev", "test", "test", "test"
    ]  # fmt: skip
    for split in SPLITS:  # both sides hold answerable and unanswerable questions
        assert {q.answerable for q in questions if q.split == split} == {True, False}


def test_bad_files_are_refused(tmp_path):
    def write(body: str):
        path = tmp_path / "q.yml"
        path.write_text(body)
        return path

    with pytest.raises(ValueError, match="id"):
        load_questions(
            write(
                "questions:\n  - {id: q001, article: none, text: a}\n  - {id: q001, article: none, text: b}\n"
            )
        )
    with pytest.raises(ValueError, match="also"):
        load_questions(write("questions:\n  - {id: q001, article: none, also: [returns-policy], text: a}\n"))
    with pytest.raises(ValueError, match="text"):
        load_questions(write("questions:\n  - {id: q001, article: returns-policy}\n"))
    loaded = load_questions(write("questions:\n  - {id: q007, article: none, text: ' hi '}\n"))
    assert loaded == [KbQuestion("q007", "hi", None)] and not loaded[0].accepts("returns-policy")


def test_the_shipped_default_calibration_is_the_shops_fitted_on_its_dev_split():
    shipped = Calibrator.load()
    assert DEFAULT_PATH.name == "calibration.json" and shipped.features == SHIPPED_FEATURES
    assert shipped.fitted_on.startswith("demo shop dev split") and QUESTIONS.name in shipped.fitted_on
    assert "all-MiniLM-L6-v2" in shipped.fitted_on and "test" not in shipped.fitted_on
    assert "writers 1, 2, 3, 4" in shipped.fitted_on  # every dev writer's questions
    assert shipped.metrics["target_precision"] == TARGET_PRECISION
    # Judged leaving one writer out (a fit on two writers' dev questions, scored on the third's): issue 14's
    # targets at its own threshold, and precision above the target when 80% of the answerable are answered.
    assert shipped.metrics["dev_lowo_answered_share"] >= TARGET_ANSWERED
    assert shipped.metrics["dev_lowo_precision"] >= TARGET_PRECISION
    assert shipped.metrics["dev_lowo_precision_at_80"] >= TARGET_PRECISION + 0.02
    assert 0.0 < shipped.threshold < 1.0 and shipped.threshold == pytest.approx(
        shipped.metrics["threshold"], abs=1e-4
    )


def test_the_bank_faq_calibration_is_kept_for_its_benchmark_and_the_overrides_still_apply():
    bank = Calibrator.load(BANK_FAQ_PATH)
    assert bank.fitted_on.startswith("bank FAQ") and bank != Calibrator.load()
    assert load_calibrator(Settings()) == Calibrator.load()  # the product answers with the shop's fit
    assert load_calibrator(Settings(kb_calibration_path=BANK_FAQ_PATH)) == bank
    overridden = load_calibrator(Settings(kb_answer_threshold=0.9))
    assert overridden.threshold == 0.9 and overridden.coef == Calibrator.load().coef
