"""Training generic tabular risk models: column inference, the two pipelines, calibration, hold-out metrics.

Nothing here knows about the CRM: the same code trains on a Telco CSV export, on CRM features and on the
simulated conversation history. The pieces:

- `infer_schema` decides which columns are numeric or categorical (blanks become missing values, a column of
  numbers stored as text is numeric, identifiers and constant columns are dropped).
- Two scikit-learn pipelines behind one ColumnTransformer each: a histogram gradient-boosting model (native
  categorical splits, missing values handled by the trees, optional monotone constraints) and a logistic
  baseline (one standardized column per number, one standardized column per category level, so coefficient
  x value is comparable across columns and monotone in every number).
- Both are wrapped in CalibratedClassifierCV (sigmoid, `ensemble=False`): one base model fitted on all the
  training rows plus a monotone map fitted on out-of-fold predictions, so probabilities mean what they say
  and reason codes can be read off that single base model.
- The model that serves is chosen by cross-validated ROC-AUC on the training part only; the hold-out is
  touched once, to report both models' figures, so the reported number is not the winner of a contest on
  that same hold-out.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

# The schema class and the two reads of a fitted model are the serving side's (backend/risk/tabular.py):
# artifacts pickle the class by that path, and the gate must compute ROC-AUC as training reports it.
from backend.risk.tabular import FeatureSchema, holdout_roc_auc

POSITIVE_WORDS = {"yes", "y", "true", "1", "churn", "churned", "escalated", "cancelled", "positive"}
MISSING = {"", " ", "na", "n/a", "nan", "null", "none", "?"}
ALGORITHMS = ("gbm", "logistic")


class DataError(ValueError):
    """The input cannot be trained on; the message says why in terms the user can act on."""


# ------------------------------------------------------------------------------------------ input coercion


def clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Blank-like strings become missing; text columns that are really numbers become numbers."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            out[column] = series.astype(float)
            continue
        text = series.astype("string").str.strip()
        text = text.mask(text.str.lower().isin(MISSING))
        numbers = pd.to_numeric(text, errors="coerce")
        present = text.notna().sum()
        # Mostly numbers (allowing a few typos) means a numeric column such as Telco's TotalCharges.
        if present and numbers.notna().sum() >= 0.98 * present:
            out[column] = numbers.astype(float)
        else:
            out[column] = text.astype(object).where(text.notna(), np.nan)
    return out


def infer_schema(df: pd.DataFrame, max_category_share: float = 0.5, max_levels: int = 200) -> FeatureSchema:
    """Numeric vs categorical from the cleaned frame; useless columns are dropped and named."""
    numeric, categorical, dropped = [], [], []
    for column in df.columns:
        series = df[column]
        distinct = series.nunique(dropna=True)
        if distinct <= 1:
            dropped.append(column)  # constant: carries no signal
        elif pd.api.types.is_float_dtype(series):
            numeric.append(column)
        elif distinct > min(max_levels, max(20, max_category_share * len(series))):
            dropped.append(column)  # an identifier or free text, not a category
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise DataError("no usable feature columns (all constant, identifiers or empty)")
    return FeatureSchema(tuple(numeric), tuple(categorical), tuple(dropped))


def binary_target(series: pd.Series) -> np.ndarray:
    """0/1 from any two-valued column; the positive class is the 'yes-like' value, else the rarer one."""
    values = series.dropna()
    if values.empty:
        raise DataError("the target column is empty")
    labels = values.astype(str).str.strip().str.lower()
    distinct = sorted(labels.unique())
    if len(distinct) != 2:
        raise DataError(f"the target must have exactly two values, found {len(distinct)}: {distinct[:5]}")
    positive = [v for v in distinct if v in POSITIVE_WORDS]
    chosen = positive[0] if len(positive) == 1 else labels.value_counts().idxmin()
    return (series.astype(str).str.strip().str.lower() == chosen).to_numpy(dtype=int)


def fingerprint(df: pd.DataFrame, y: np.ndarray) -> str:
    """A stable hash of the training data (row order included), stored with the model version."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, df.columns)).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    digest.update(np.asarray(y, dtype=np.int8).tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------ the pipelines


def build_gbm(schema: FeatureSchema, seed: int, size: int) -> Pipeline:
    """Trees see raw numbers and ordinal-coded categories (native categorical splits; missing is a branch)."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    columns = ColumnTransformer(
        [("num", "passthrough", list(schema.numeric)), ("cat", encoder, list(schema.categorical))]
    )
    model = HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=100,  # as good as 0.05 x 200 on Telco and the simulated data, in half the time
        max_leaf_nodes=4,  # shallow trees: tabular churn data rewards many small steps over deep trees
        min_samples_leaf=max(10, min(50, size // 100)),
        l2_regularization=1.0,
        categorical_features=[False] * len(schema.numeric) + [True] * len(schema.categorical),
        monotonic_cst=[dict(schema.monotone).get(n, 0) for n in schema.numeric]
        + [0] * len(schema.categorical),
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("columns", columns), ("model", model)])


def build_logistic(schema: FeatureSchema, seed: int) -> Pipeline:
    """Every output column is standardized, so coefficient x column value is a contribution in log-odds."""
    number = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    category = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ("scale", StandardScaler()),
        ]
    )
    columns = ColumnTransformer(
        [("num", number, list(schema.numeric)), ("cat", category, list(schema.categorical))]
    )
    model = LogisticRegression(C=0.3, max_iter=3000, random_state=seed)
    return Pipeline([("columns", columns), ("model", model)])


def build(algorithm: str, schema: FeatureSchema, seed: int, size: int) -> Pipeline:
    return build_gbm(schema, seed, size) if algorithm == "gbm" else build_logistic(schema, seed)


def logistic_groups(pipeline: Pipeline, schema: FeatureSchema) -> list[str]:
    """Which input feature each column of the logistic design matrix came from (same order as coef_)."""
    columns: ColumnTransformer = pipeline.named_steps["columns"]
    groups = list(schema.numeric)
    if schema.categorical:
        onehot: OneHotEncoder = columns.named_transformers_["cat"].named_steps["onehot"]
        groups += [
            name for name, levels in zip(schema.categorical, onehot.categories_, strict=True) for _ in levels
        ]
    return groups


# ------------------------------------------------------------------------------------------ metrics


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Deciles of predicted probability: mean predicted vs observed rate in each."""
    order = np.argsort(p, kind="stable")
    rows = []
    for index, chunk in enumerate(np.array_split(order, bins), start=1):
        if len(chunk):
            rows.append(
                {
                    "decile": index,
                    "n": len(chunk),
                    "mean_predicted": round(float(p[chunk].mean()), 4),
                    "observed": round(float(y[chunk].mean()), 4),
                }
            )
    return rows


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    if len(np.unique(y)) < 2:
        raise DataError("the hold-out has a single class; more rows of the rarer class are needed")
    return {
        "roc_auc": holdout_roc_auc(y, p),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "n": len(y),
        "positive_rate": round(float(np.mean(y)), 4),
        "calibration": calibration_table(y, p),
    }


# ------------------------------------------------------------------------------------------ training


@dataclass
class Split:
    train: np.ndarray  # row indices
    test: np.ndarray


def _group_labels(y: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique groups, each group's label (its rows' maximum: the outcome) and each row's group."""
    unique, row_group = np.unique(groups, return_inverse=True)
    label = np.zeros(len(unique), dtype=int)
    np.maximum.at(label, row_group, y)
    return unique, label, row_group


def holdout_split(y: np.ndarray, seed: int, test_size: float, groups: np.ndarray | None = None) -> Split:
    """Stratified and seeded; with groups (a conversation's turns) a group never straddles the split."""
    index = np.arange(len(y))
    if groups is None:
        train, test = train_test_split(index, test_size=test_size, stratify=y, random_state=seed)
        return Split(np.sort(train), np.sort(test))
    # Split whole groups, stratified by the group's label (StratifiedGroupKFold is far slower for this).
    unique, label, row_group = _group_labels(y, groups)
    _, test_groups = train_test_split(
        np.arange(len(unique)), test_size=test_size, stratify=label, random_state=seed
    )
    in_test = np.isin(row_group, test_groups)
    return Split(index[~in_test], index[in_test])


def _cv(y: np.ndarray, groups: np.ndarray | None, folds: int, seed: int) -> list[tuple[Any, Any]]:
    index = np.arange(len(y))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    if groups is None:
        return list(splitter.split(index, y))
    unique, label, row_group = _group_labels(y, groups)
    return [
        (index[~np.isin(row_group, held)], index[np.isin(row_group, held)])
        for _, held in splitter.split(np.arange(len(unique)), label)
    ]


def without_empty(schema: FeatureSchema, X: pd.DataFrame) -> FeatureSchema:
    """A feature never observed in the training rows (no CSAT ratings yet, say) cannot be learned from."""
    empty = {name for name in schema.features if X[name].isna().all()}
    if not empty:
        return schema
    if empty == set(schema.features):
        raise DataError("every feature is empty in the training rows")
    return FeatureSchema(
        tuple(n for n in schema.numeric if n not in empty),
        tuple(n for n in schema.categorical if n not in empty),
        schema.dropped + tuple(sorted(empty)),
        tuple((n, d) for n, d in schema.monotone if n not in empty),
    )


def check_trainable(y: np.ndarray, minimum: int = 10) -> None:
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if min(positives, negatives) < minimum:
        raise DataError(
            f"too few examples of one class to train ({positives} positive, {negatives} negative; "
            f"at least {minimum} of each are needed)"
        )


@dataclass
class Candidate:
    algorithm: str
    estimator: CalibratedClassifierCV
    cv_roc_auc: float
    holdout: dict[str, Any]
    holdout_scores: np.ndarray


@dataclass
class TrainResult:
    schema: FeatureSchema
    candidates: dict[str, Candidate]
    chosen: str
    split: Split
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> Candidate:
        return self.candidates[self.chosen]


def fit_candidate(
    algorithm: str,
    X: pd.DataFrame,
    y: np.ndarray,
    schema: FeatureSchema,
    seed: int,
    cv: list[tuple[Any, Any]],
) -> tuple[CalibratedClassifierCV, float]:
    """Out-of-fold ROC-AUC of the raw model (for selection), then the calibrated model on all rows given."""
    base = build(algorithm, schema, seed, len(y))
    oof = cross_val_predict(base, X, y, cv=cv, method="decision_function")
    calibrated = CalibratedClassifierCV(
        build(algorithm, schema, seed, len(y)), method="sigmoid", cv=cv, ensemble=False
    )
    calibrated.fit(X, y)
    return calibrated, float(roc_auc_score(y, oof))


def train(
    X: pd.DataFrame,
    y: np.ndarray,
    schema: FeatureSchema,
    seed: int = 7,
    test_size: float = 0.2,
    groups: np.ndarray | None = None,
    folds: int = 5,
    algorithms: tuple[str, ...] = ALGORITHMS,
) -> TrainResult:
    """Both pipelines on the training part; each is scored once on the hold-out."""
    check_trainable(y)
    split = holdout_split(y, seed, test_size, groups)
    schema = without_empty(schema, X.iloc[split.train])
    X = X[list(schema.features)]
    check_trainable(y[split.train], minimum=folds)
    X_train, y_train = X.iloc[split.train], y[split.train]
    X_test, y_test = X.iloc[split.test], y[split.test]
    train_groups = groups[split.train] if groups is not None else None
    cv = _cv(y_train, train_groups, folds, seed)  # the same folds for both models and their calibration
    candidates = {}
    # One thread: predictable timings on a shared machine, and OpenMP spin-waits never fight other jobs.
    with threadpool_limits(limits=1):
        for algorithm in algorithms:
            estimator, cv_auc = fit_candidate(algorithm, X_train, y_train, schema, seed, cv)
            scores = estimator.predict_proba(X_test)[:, 1]
            candidates[algorithm] = Candidate(
                algorithm, estimator, round(cv_auc, 4), evaluate(y_test, scores), scores
            )
    chosen = max(candidates.values(), key=lambda c: c.cv_roc_auc).algorithm
    return TrainResult(schema, candidates, chosen, split, seed)


def typical_values(X: pd.DataFrame, schema: FeatureSchema) -> dict[str, Any]:
    """Training median of each number and most frequent category (what reason texts call typical)."""
    typical: dict[str, Any] = {}
    for name in schema.numeric:
        median = X[name].median()
        typical[name] = float(median) if not math.isnan(median) else math.nan
    for name in schema.categorical:
        mode = X[name].mode(dropna=True)
        typical[name] = mode.iloc[0] if len(mode) else np.nan
    return typical


def marginals(
    X: pd.DataFrame, schema: FeatureSchema, points: int = 10, max_levels: int = 30
) -> dict[str, list[tuple[Any, float]]]:
    """Each feature's training distribution as (value, weight) pairs: numbers by their mid-deciles, categories
    by their levels, and missing values with their share. Gradient-boosting reasons average over these."""
    result: dict[str, list[tuple[Any, float]]] = {}
    for name in schema.features:
        column = X[name]
        missing = float(column.isna().mean())
        present = column.dropna()
        pairs: list[tuple[Any, float]] = []
        if len(present) and name in schema.numeric:
            quantiles = np.quantile(present.astype(float), (np.arange(points) + 0.5) / points)
            pairs = [(float(q), (1 - missing) / points) for q in quantiles]
        elif len(present):
            shares = present.astype(str).value_counts(normalize=True).head(max_levels)
            pairs = [(level, float((1 - missing) * share / shares.sum())) for level, share in shares.items()]
        if missing:
            pairs.append((None, missing))
        result[name] = pairs
    return result
