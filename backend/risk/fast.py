"""Fast in-process scoring: the fitted pipelines re-expressed as a handful of numpy operations.

Why: scikit-learn validates its input on every call (DataFrame checks, per-column encoders, one Python call
per boosting iteration), which costs tens of milliseconds for a single row on a busy machine, far over the
5 ms budget of a conversation turn. The arithmetic itself is tiny, so it is done here directly from the
fitted objects:

- gradient boosting: ordinal codes mapped straight to the model's internal category codes, then every tree
  walked at once (one numpy gather per tree level), leaf values summed onto the baseline;
- logistic: imputation, standardization and one-hot columns, then a dot product;
- both: the sigmoid calibration map, probability = 1 / (1 + exp(a * raw + b)).

`compile_scorer` checks the compiled scorer against scikit-learn's own `predict_proba` on the hold-out rows
(plus rows with missing and unseen values) and returns None when they differ by more than 1e-9, so a change
inside scikit-learn can only make scoring slower, never different.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from backend.risk.tabular import FeatureSchema, base_estimator

log = logging.getLogger(__name__)
TOLERANCE = 1e-9
UNSEEN = "\x00unseen-category"


def numbers(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> np.ndarray:
    return np.array([[_number(row.get(name)) for name in names] for row in rows], dtype=float).reshape(
        len(rows), len(names)
    )


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def category(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def to_frame(rows: Sequence[Mapping[str, Any]], schema: FeatureSchema) -> pd.DataFrame:
    """Rows as the scikit-learn pipelines expect them: numbers as float, categories as text or NaN."""
    data: dict[str, Any] = {name: numbers(rows, [name])[:, 0] for name in schema.numeric}
    for name in schema.categorical:
        data[name] = np.array([category(row.get(name)) or np.nan for row in rows], dtype=object)
    return pd.DataFrame(data, columns=list(schema.features))


class Calibrated:
    """Raw decision values -> calibrated probability, with the sigmoid of CalibratedClassifierCV."""

    def __init__(self, estimator: CalibratedClassifierCV) -> None:
        calibrator = estimator.calibrated_classifiers_[0].calibrators[0]
        self.a, self.b = float(calibrator.a_), float(calibrator.b_)

    def proba(self, raw: np.ndarray) -> np.ndarray:
        return expit(-(self.a * raw + self.b))


class FastGBM(Calibrated):
    def __init__(self, estimator: CalibratedClassifierCV, schema: FeatureSchema) -> None:
        super().__init__(estimator)
        pipeline: Pipeline = base_estimator(estimator)
        self.schema = schema
        model = pipeline.named_steps["model"]
        self._map_columns(pipeline.named_steps["columns"], model)
        self._stack_trees(model)

    def _map_columns(self, columns: Any, model: Any) -> None:
        """Where each input lands in the trees' feature order, and each category's internal code."""
        inner = model._preprocessor  # HistGradientBoosting re-encodes categories and puts them first
        n_num = len(self.schema.numeric)
        flags = model.is_categorical_  # None when the model has no categorical feature
        is_cat = np.zeros(model.n_features_in_, bool) if flags is None else np.asarray(flags, dtype=bool)
        cat_start = inner.output_indices_["encoder"].start if inner is not None else 0
        num_start = inner.output_indices_["numerical"].start if inner is not None else 0
        rank = np.cumsum(is_cat) - 1, np.cumsum(~is_cat) - 1
        self.positions = [
            int(cat_start + rank[0][k]) if is_cat[k] else int(num_start + rank[1][k])
            for k in range(len(is_cat))
        ]
        self.width = len(is_cat)
        self.codes: list[dict[str, float]] = []
        if self.schema.categorical:
            outer = columns.named_transformers_["cat"].categories_
            internal = inner.named_transformers_["encoder"].categories_
            for j, levels in enumerate(outer):
                seen = {float(c): i for i, c in enumerate(internal[j]) if not math.isnan(c)}
                self.codes.append(
                    {str(v): float(seen[float(i)]) for i, v in enumerate(levels) if float(i) in seen}
                )
        self.num_positions = self.positions[:n_num]
        self.cat_positions = self.positions[n_num:]

    def _stack_trees(self, model: Any) -> None:
        predictors = [iteration[0] for iteration in model._predictors]
        sizes = [len(p.nodes) for p in predictors]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        nodes = np.concatenate([p.nodes for p in predictors])
        repeat = np.repeat(offsets, sizes)
        bit_sizes = [len(p.raw_left_cat_bitsets) for p in predictors]
        bit_offsets = np.repeat(np.concatenate([[0], np.cumsum(bit_sizes)[:-1]]), sizes).astype(np.int64)
        self.roots = offsets
        self.left = nodes["left"].astype(np.int64) + repeat
        self.right = nodes["right"].astype(np.int64) + repeat
        self.feature = nodes["feature_idx"].astype(np.int64)
        self.threshold = nodes["num_threshold"]
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.is_leaf = nodes["is_leaf"].astype(bool)
        self.is_cat = nodes["is_categorical"].astype(bool)
        self.value = nodes["value"]
        # Only categorical splits own a bitset; the others point at row 0 so the gather stays in bounds.
        self.bitset = np.where(self.is_cat, nodes["bitset_idx"].astype(np.int64) + bit_offsets, 0)
        self.bitsets = (
            np.concatenate([p.raw_left_cat_bitsets for p in predictors]).astype(np.int64)
            if sum(bit_sizes)
            else np.zeros((1, 8), dtype=np.int64)
        )
        self.baseline = float(np.ravel(model._baseline_prediction)[0])

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        X = np.full((len(rows), self.width), np.nan)
        X[:, self.num_positions] = numbers(rows, self.schema.numeric)
        for j, name in enumerate(self.schema.categorical):
            codes = self.codes[j]
            X[:, self.cat_positions[j]] = [
                codes.get(category(row.get(name)) or UNSEEN, np.nan) for row in rows
            ]
        return X

    def raw(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.raw_matrix(self.matrix(rows))

    def set_marginals(self, marginals: Mapping[str, Sequence[tuple[Any, float]]]) -> None:
        """Encode each feature's reference draws once, and which trees each draw can change."""
        tree_of_node = np.repeat(np.arange(len(self.roots)), np.diff(np.append(self.roots, len(self.value))))
        splits = ~self.is_leaf
        columns, values, weights, owners, pair_rows, pair_trees = [], [], [], [], [], []
        for j, name in enumerate(self.schema.features):
            position = self.positions[j]
            # Only the trees that split on this feature can score a redrawn value differently.
            trees = np.unique(tree_of_node[splits & (self.feature == position)])
            for value, weight in marginals[name]:
                pair_rows.append(np.full(len(trees), len(columns)))
                pair_trees.append(trees)
                columns.append(position)
                values.append(self.matrix([{name: value}])[0, position])
                weights.append(weight)
                owners.append(j)
        self.variant_columns, self.variant_values = np.array(columns, dtype=np.int64), np.array(values)
        self.variant_weights, self.variant_owners = np.array(weights), np.array(owners)
        self.pair_rows = np.concatenate(pair_rows).astype(np.int64)
        self.pair_trees = np.concatenate(pair_trees).astype(np.int64)

    def counterfactual_logits(self, row: Mapping[str, Any]) -> tuple[float, np.ndarray]:
        """Calibrated log-odds of the row, and per feature the weighted log-odds drop when it is redrawn.

        A redrawn feature changes only the trees that split on it, so only those are walked again."""
        X0 = self.matrix([row])
        leaves0 = self._leaves(X0, np.zeros(len(self.roots), dtype=np.int64), np.arange(len(self.roots)))
        raw0 = self.baseline + leaves0.sum()
        variants = np.repeat(X0, len(self.variant_columns), axis=0)
        variants[np.arange(len(variants)), self.variant_columns] = self.variant_values
        delta = self._leaves(variants, self.pair_rows, self.pair_trees) - leaves0[self.pair_trees]
        raw = raw0 + np.bincount(self.pair_rows, weights=delta, minlength=len(variants))
        logit0, logits = -(self.a * raw0 + self.b), -(self.a * raw + self.b)  # the sigmoid calibration
        drops = self.variant_weights * (logit0 - logits)
        return float(logit0), np.bincount(
            self.variant_owners, weights=drops, minlength=len(self.schema.features)
        )

    def raw_matrix(self, X: np.ndarray) -> np.ndarray:
        rows = np.repeat(np.arange(len(X)), len(self.roots))
        trees = np.tile(np.arange(len(self.roots)), len(X))
        return self.baseline + self._leaves(X, rows, trees).reshape(len(X), len(self.roots)).sum(axis=1)

    def _leaves(self, X: np.ndarray, rows: np.ndarray, trees: np.ndarray) -> np.ndarray:
        """Leaf value reached by each (row, tree) pair; pairs that reached a leaf stop being walked."""
        index = self.roots[trees].copy()
        active = np.arange(len(index))
        while active.size:
            node = index[active]
            moving = ~self.is_leaf[node]
            active, node = active[moving], node[moving]
            if not active.size:
                break
            x = X[rows[active], self.feature[node]]
            categorical = self.is_cat[node]
            missing = np.isnan(x) | (categorical & (x < 0))
            code = np.where(missing | ~categorical, 0, x).astype(np.int64)
            in_left_set = (self.bitsets[self.bitset[node], code >> 5] >> (code & 31)) & 1
            go_left = np.where(
                missing,
                self.missing_left[node],
                np.where(categorical, in_left_set.astype(bool), x <= self.threshold[node]),
            )
            index[active] = np.where(go_left, self.left[node], self.right[node])
        return self.value[index]

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.proba(self.raw(rows))


class FastLogistic(Calibrated):
    def __init__(self, estimator: CalibratedClassifierCV, schema: FeatureSchema) -> None:
        super().__init__(estimator)
        pipeline: Pipeline = base_estimator(estimator)
        self.schema = schema
        columns = pipeline.named_steps["columns"]
        model = pipeline.named_steps["model"]
        self.coef = model.coef_[0].astype(float)
        self.intercept = float(model.intercept_[0])
        if schema.numeric:
            number = columns.named_transformers_["num"]
            self.num_fill = number.named_steps["impute"].statistics_.astype(float)
            self.num_mean = number.named_steps["scale"].mean_
            self.num_scale = number.named_steps["scale"].scale_
        if schema.categorical:
            category_step = columns.named_transformers_["cat"]
            self.fill = category_step.named_steps["impute"].statistics_[0]
            levels = category_step.named_steps["onehot"].categories_
            self.levels = [{str(v): i for i, v in enumerate(cats)} for cats in levels]
            self.widths = [len(cats) for cats in levels]
            self.cat_mean = category_step.named_steps["scale"].mean_
            self.cat_scale = category_step.named_steps["scale"].scale_

    def design(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The standardized design matrix, column for column as the fitted ColumnTransformer makes it."""
        blocks = []
        if self.schema.numeric:
            raw = numbers(rows, self.schema.numeric)
            filled = np.where(np.isnan(raw), self.num_fill, raw)
            blocks.append((filled - self.num_mean) / self.num_scale)
        if self.schema.categorical:
            onehot = np.zeros((len(rows), sum(self.widths)))
            start = 0
            for j, name in enumerate(self.schema.categorical):
                for i, row in enumerate(rows):
                    level = self.levels[j].get(category(row.get(name)) or self.fill)
                    if level is not None:
                        onehot[i, start + level] = 1.0
                start += self.widths[j]
            blocks.append((onehot - self.cat_mean) / self.cat_scale)
        return np.hstack(blocks)

    def raw(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.design(rows) @ self.coef + self.intercept

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.proba(self.raw(rows))


FastScorer = FastGBM | FastLogistic


def compile_scorer(
    algorithm: str, estimator: CalibratedClassifierCV, schema: FeatureSchema, check: pd.DataFrame
) -> FastScorer | None:
    """A compiled scorer that agrees with scikit-learn on `check` (and odd rows), else None."""
    try:
        scorer = FastGBM(estimator, schema) if algorithm == "gbm" else FastLogistic(estimator, schema)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        # scikit-learn internals this relies on have changed: stay correct, only slower.
        log.warning("cannot compile the %s scorer (%s): using scikit-learn", algorithm, exc)
        return None
    rows = check.to_dict("records") + _odd_rows(schema)
    expected = estimator.predict_proba(to_frame(rows, schema))[:, 1]
    gap = float(np.max(np.abs(scorer.predict(rows) - expected)))
    if gap > TOLERANCE:
        log.warning(
            "compiled %s scorer differs from scikit-learn by %.3g: using scikit-learn", algorithm, gap
        )
        return None
    return scorer


def _odd_rows(schema: FeatureSchema) -> list[dict[str, Any]]:
    """Rows with every value missing, and with unseen categories: the compiled path must handle them too."""
    return [dict.fromkeys(schema.features), {name: UNSEEN[1:] for name in schema.categorical}]
