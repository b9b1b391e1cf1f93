"""The learning-to-rank re-ranker (ml/kb_ltr.py) on hand-made features: no encoder is loaded."""

import numpy as np

from knowledge.store import Ranked
from ml import kb_ltr as ltr


def test_max_per_doc_takes_each_articles_best_column():
    scores = np.array([[0.1, 0.5, 0.2, 0.9], [0.3, 0.0, 0.4, 0.1]])
    owners = np.array([7, 7, 8, 9])
    assert ltr._max_per_doc(scores, owners).tolist() == [[0.5, 0.2, 0.9], [0.3, 0.4, 0.1]]


def _views(n: int, docs: list[int], dense: np.ndarray) -> ltr.Views:
    return ltr.Views(np.zeros((n, 2)), docs, dense, dense.copy(), dense.copy())


def _table(rng: np.random.Generator, n: int, depth: int) -> tuple[ltr.Table, list[int]]:
    """Questions over 6 articles whose first-stage order is random; the right article is the one whose
    class the classifier gives most probability, which no similarity feature tells apart."""
    docs = list(range(1, 7))
    tags = {d: f"c{d}" for d in docs}
    gold = [int(rng.integers(1, 7)) for _ in range(n)]
    probs = np.full((n, 6), 0.02)
    probs[np.arange(n), np.array(gold) - 1] = 0.9
    ranked = []
    for _ in range(n):
        order = [int(d) for d in rng.permutation(docs)]
        ranked.append(
            Ranked([], [(d, 0, 1.0) for d in order], [(d, 1 / (60 + p)) for p, d in enumerate(order)])
        )
    dense = rng.uniform(0.3, 0.5, (n, 6))
    texts = {d: f"article {d}" for d in docs}
    table = ltr.Table.build(
        ranked,
        _views(n, docs, dense),
        _views(n, docs, dense),
        ["a question"] * n,
        texts,
        ([f"c{d}" for d in docs], probs),
        tags,
        depth,
    )
    return table, gold


def test_the_ranker_learns_the_informative_feature_and_keeps_the_rest_in_fused_order():
    table, gold = _table(np.random.default_rng(0), 80, depth=4)
    for model in ltr.MODELS:
        ranker = ltr.fit(table, range(60), gold, 4, "all", model)
        held = range(60, 80)
        in_top = [i for i in held if gold[i] in table.candidates[i][:4]]
        assert all(ranker.order(table, i)[0] == gold[i] for i in in_top), model
        for i in held:
            assert ranker.order(table, i)[4:] == table.candidates[i][4:]  # below the depth: untouched
            assert sorted(ranker.order(table, i)) == sorted(table.candidates[i])


def test_without_the_informative_feature_the_ranker_does_not_find_the_right_article():
    table, gold = _table(np.random.default_rng(1), 200, depth=6)
    ranker = ltr.fit(table, range(150), gold, 6, "first-stage", "logistic")
    first = np.mean([ranker.order(table, i)[0] == gold[i] for i in range(150, 200)])
    assert first < 0.5  # chance is 1/6: the class features carry what the test above relies on


def test_the_classifier_learns_classes_from_questions_and_articles():
    rng = np.random.default_rng(2)
    centres = {"cards": np.array([1.0, 0.0]), "loans": np.array([0.0, 1.0])}
    tags = {1: "cards", 2: "loans"}
    gold = [1, 2] * 20
    questions = np.array([centres[tags[g]] + rng.normal(0, 0.2, 2) for g in gold])
    articles = np.array([centres["cards"], centres["loans"]])
    names, probs = ltr.fit_classifier(questions, range(30), gold, tags, articles, [1, 2])
    predicted = [names[int(p.argmax())] for p in probs[30:]]
    assert predicted == [tags[g] for g in gold[30:]]
