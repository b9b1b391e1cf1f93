"""The shop's answer decision with the learned sentence match (issue 14): the fit folds its scaling back into
weights the search applies, the threshold answers a share of the answerable questions of writers the fit did
not see, and the writers are the ones ml/data/kb_questions.yml's comment blocks name."""

import re

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from knowledge.calibration import (
    PRODUCT,
    Calibrator,
    choose_threshold_answered,
    fit_product,
    with_threshold,
)
from ml import kb_shop


def synthetic(
    writers: tuple[int, ...] = (1, 300, 600), per_writer: int = 60, seed: int = 0
) -> kb_shop.Decisions:
    """Questions of three writers (ids in their ranges), two results each: the right article's result has
    products that lean along the first dimensions, a wrong one's do not."""
    rng = np.random.default_rng(seed)
    ids = tuple(f"q{start + n:03d}" for start in writers for n in range(per_writer))
    questions = len(ids)
    answerable = rng.random(questions) < 0.7
    rows, labels, group, products = [], [], [], []
    for n in range(questions):
        for position in range(2):
            right = answerable[n] and position == 0 and rng.random() < 0.9
            rows.append([rng.normal(0.5 + 0.2 * right, 0.1), rng.normal(0.1 * right, 0.05)])
            products.append(rng.normal(0.0, 0.01, 8) + (0.03 * right) * np.array([1, 1, 1, 0, 0, 0, 0, 0]))
            labels.append(1.0 if right else 0.0)
            group.append(n)
    return kb_shop.Decisions(
        ("dense", "sentence"),
        np.array(rows),
        np.array(labels),
        np.array(group),
        answerable,
        ids,
        np.array(products),
    )


def test_the_product_fit_is_a_standardized_logistic_regression_read_on_raw_values(tmp_path):
    data = synthetic()
    fitted = fit_product(data.x, data.products, data.labels, "synthetic", data.names, 0.1)
    assert fitted.features == ("dense", "sentence", PRODUCT) and fitted.coef[-1] == 1.0
    assert len(fitted.product_weights) == 8 and fitted.uses_sentences
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))
    expected = reference.fit(np.hstack([data.x, data.products]), data.labels).predict_proba(
        np.hstack([data.x, data.products])
    )[:, 1]
    # What the search computes: the raw features and the weighted product as one more feature.
    raw = [(*x, float(np.dot(fitted.product_weights, p))) for x, p in zip(data.x, data.products, strict=True)]
    assert np.allclose([fitted.confidence(r) for r in raw], expected, atol=1e-6)
    assert np.allclose(kb_shop.scores_of(fitted, data, np.arange(len(data.labels))), expected, atol=1e-6)
    # The dimensions that carry the label get the largest weights.
    assert min(fitted.product_weights[:3]) > max(abs(w) for w in fitted.product_weights[3:])
    fitted.save(tmp_path / "c.json")
    assert Calibrator.load(tmp_path / "c.json") == fitted
    kept = with_threshold(fitted, 0.7, {"x": 1.0})
    assert kept.product_weights == fitted.product_weights and kept.threshold == 0.7


def test_a_constant_product_dimension_does_not_blow_up_the_weights():
    data = synthetic()
    products = data.products.copy()
    products[:, 5] = 0.0123  # constant up to rounding after the standardization
    fitted = fit_product(data.x, products, data.labels, "synthetic", data.names, 0.03)
    assert np.all(np.isfinite(fitted.product_weights)) and max(map(abs, fitted.product_weights)) < 1e4


def test_product_weights_come_exactly_with_the_product_feature():
    with pytest.raises(ValueError, match="product_weights"):
        Calibrator((1.0, 1.0), 0.0, 0.5, ("sentence", PRODUCT))
    with pytest.raises(ValueError, match="product_weights"):
        Calibrator((1.0,), 0.0, 0.5, ("sentence",), product_weights=(0.5, 0.5))
    with pytest.raises(ValueError, match="features"):
        Calibrator((1.0, 1.0), 0.0, 0.5, (PRODUCT, PRODUCT), product_weights=(1.0,))


def test_the_answered_rule_takes_the_highest_threshold_that_answers_the_share():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95, 0.1])
    answerable = np.array([True, True, True, True, True, False, False])
    assert choose_threshold_answered(scores, answerable, 0.8) == 0.6  # 4 of the 5 answerable
    assert choose_threshold_answered(scores, answerable, 1.0) == 0.5
    assert choose_threshold_answered(scores, answerable, 0.01) == 0.9
    assert choose_threshold_answered(scores, np.zeros(7, dtype=bool), 0.8) == 1.0
    threshold = choose_threshold_answered(scores, answerable, 0.79)
    assert (scores[answerable] >= threshold).mean() >= 0.79 and threshold == 0.6


def test_writers_are_the_id_ranges_the_questions_file_names():
    assert [kb_shop.writer_of(i) for i in ("q001", "q279", "q280", "q514", "q515", "q775", "q776")] == [
        0, 0, 1, 1, 2, 2, 3
    ]  # fmt: skip
    # The file's own comment blocks: the first id after each "written ... by a second / third writer" block.
    text = kb_shop.QUESTIONS.read_text(encoding="utf-8")
    for word, writer in (("second", 1), ("third", 2)):
        after = text[re.search(rf"#[^\n]*by a {word} writer", text).end() :]
        first = re.search(r"id: (q\d+)", after).group(1)
        assert (
            kb_shop.writer_of(first) == writer
            and kb_shop.writer_of(f"q{int(first[1:]) - 1:03d}") == writer - 1
        )
    last = max(int(i) for i in re.findall(r"id: q(\d+)", text))
    assert kb_shop.WRITERS[-1][1] == last  # every question of the file has its writer


def test_the_threshold_is_chosen_on_writers_the_fit_did_not_see():
    data = synthetic()
    assert list(kb_shop.threshold_folds(data.ids)) == [kb_shop.writer_of(i) for i in data.ids]
    one = synthetic(writers=(1,), per_writer=150)
    assert set(kb_shop.threshold_folds(one.ids)) == set(range(kb_shop.FOLDS))  # one writer: hash folds
    fitted = kb_shop.fit_product(data, "synthetic", 0.03, 0.8)
    held = kb_shop.inner_scores(data, 0.03)
    assert fitted.threshold == choose_threshold_answered(held, data.answerable, 0.8)
    # The first writer's held-out scores come from a fit on the other two writers alone.
    first = np.array([kb_shop.writer_of(i) == 0 for i in data.ids])
    others = data.take(~first)
    alone = fit_product(others.x, others.products, others.labels, "", data.names, 0.03)
    assert np.allclose(held[first], kb_shop.scores_of(alone, data, data.top[first]))


def test_leaving_one_writer_out_never_reads_the_held_out_writers_labels():
    data = synthetic()
    before = kb_shop.leave_one_writer_out(data, 0.03, 0.8)
    assert set(before) == {"writer 1", "writer 2", "writer 3", "pooled"}
    flipped = data.labels.copy()
    first_rows = np.array([kb_shop.writer_of(data.ids[q]) == 0 for q in data.question])
    flipped[first_rows] = 1.0 - flipped[first_rows]
    after = kb_shop.leave_one_writer_out(
        kb_shop.Decisions(
            data.names, data.x, flipped, data.question, data.answerable, data.ids, data.products
        ),
        0.03,
        0.8,
    )
    assert after["writer 1"]["threshold"] == before["writer 1"]["threshold"]
    assert after["writer 1"]["answered_share"] == before["writer 1"]["answered_share"]
    assert after["writer 2"]["threshold"] != before["writer 2"]["threshold"]  # the others did read them
    assert before["pooled"]["auc"] > 0.8  # the synthetic products separate right from wrong


def test_fit_product_needs_the_products():
    data = synthetic()
    bare = kb_shop.Decisions(data.names, data.x, data.labels, data.question, data.answerable, data.ids)
    with pytest.raises(ValueError, match="products"):
        kb_shop.fit_product(bare, "synthetic")
    assert bare.take(np.ones(len(bare.ids), dtype=bool)).products is None
    kept = data.take(np.arange(len(data.ids)) < 10)
    assert kept.products is not None and len(kept.products) == len(kept.labels) == 20
