"""Column inference, targets, metrics (ml/risk/tabular.py) and the compiled scorers (backend/risk/fast.py)."""

import numpy as np
import pandas as pd
import pytest

from backend.risk import fast
from ml.risk import tabular, training
from tests.risk.synthetic import churn_csv


def test_blanks_become_missing_and_text_numbers_become_numbers():
    raw = pd.DataFrame({"total": ["1.5", " ", "", "3"], "plan": ["a", "b", " ", "NA"], "n": [1, 2, 3, 4]})
    clean = tabular.clean_frame(raw)
    assert clean["total"].dtype == float and clean["total"].isna().tolist() == [False, True, True, False]
    assert clean["plan"].isna().tolist() == [False, False, True, True]
    assert clean["n"].dtype == float


def test_identifiers_and_constants_are_dropped_and_named():
    frame = tabular.clean_frame(
        pd.DataFrame({"id": [f"x{i}" for i in range(100)], "k": ["same"] * 100, "c": ["a", "b"] * 50})
    )
    schema = tabular.infer_schema(frame)
    assert schema.categorical == ("c",) and set(schema.dropped) == {"id", "k"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Yes", "No", "yes"], [1, 0, 1]),
        (["True", "False", "False"], [1, 0, 0]),
        (["stay", "stay", "leave"], [0, 0, 1]),  # no yes-like word: the rarer value is positive
    ],
)
def test_binary_targets(values, expected):
    assert tabular.binary_target(pd.Series(values)).tolist() == expected


def test_a_target_with_three_values_is_refused_with_the_values():
    with pytest.raises(tabular.DataError, match="exactly two values"):
        tabular.binary_target(pd.Series(["a", "b", "c"]))


def test_calibration_table_has_deciles_of_mean_predicted_and_observed():
    p = np.linspace(0.01, 0.99, 200)
    y = (np.random.default_rng(0).random(200) < p).astype(int)
    table = tabular.evaluate(y, p)["calibration"]
    assert [row["decile"] for row in table] == list(range(1, 11))
    assert table[0]["mean_predicted"] < table[-1]["mean_predicted"]
    assert sum(row["n"] for row in table) == 200


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return churn_csv(tmp_path_factory.mktemp("csv") / "export.csv")


@pytest.fixture(scope="module")
def csv_training(export):
    return training.churn_from_csv(export, "churned", "customer_id", folds=3)


def test_a_messy_export_trains_both_models_with_sensible_figures(csv_training):
    model, result = csv_training.model, csv_training.result
    assert model.kind == "churn_csv"  # not the CRM's columns: never used to score CRM customers
    assert set(result.candidates) == {"gbm", "logistic"}
    assert "total" in model.schema.numeric and "constant" in model.schema.dropped
    for candidate in result.candidates.values():
        assert 0.6 < candidate.holdout["roc_auc"] <= 1.0
        assert 0 < candidate.holdout["brier"] < 0.25


@pytest.mark.parametrize("algorithm", ["gbm", "logistic"])
def test_the_compiled_scorer_matches_scikit_learn_exactly(export, csv_training, algorithm):
    X, y = training.read_csv(export, "churned", "customer_id")
    csv_training.result.chosen = algorithm
    model = training.to_artifact(csv_training.result, X, y, "churn_csv", "generic")
    assert model.compiled is not None
    rows = [*model.holdout_X.to_dict("records"), {}, {"contract": "Three year", "tenure": None}]
    expected = model.estimator.predict_proba(fast.to_frame(rows, model.schema))[:, 1]
    assert np.max(np.abs(model.predict(rows) - expected)) < 1e-9


@pytest.mark.parametrize("columns", [["tenure", "monthly"], ["contract", "region"]])
def test_numeric_only_and_categorical_only_exports_compile_too(export, columns):
    X, y = training.read_csv(export, "churned", "customer_id")
    schema = tabular.infer_schema(X[columns])
    result = tabular.train(X[columns], y, schema, folds=3)
    for algorithm in ("gbm", "logistic"):
        result.chosen = algorithm
        model = training.to_artifact(result, X[columns], y, "churn_csv", "generic")
        assert model.compiled is not None
        rows = model.holdout_X.to_dict("records")
        expected = model.estimator.predict_proba(fast.to_frame(rows, model.schema))[:, 1]
        assert np.max(np.abs(model.predict(rows) - expected)) < 1e-9
        assert model.score(rows[0]).reasons
