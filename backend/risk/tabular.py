"""What a saved risk model carries about its table, and the serving side's few reads of a fitted pipeline.

Training (column inference, the two pipelines, calibration, metrics) lives in ml/risk/tabular.py. These
pieces stay here because scoring and the promotion gate need them, and because `FeatureSchema` is pickled
inside every artifact as `backend.risk.tabular.FeatureSchema`: moving the class would make every saved
model under `risk_model_dir` unloadable (tests/risk/test_serving_apart.py pins the paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # scikit-learn is imported by the artifact's own unpickling, not by importing this
    import numpy as np
    from sklearn.base import BaseEstimator
    from sklearn.calibration import CalibratedClassifierCV


@dataclass(frozen=True)
class FeatureSchema:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    # Known directions (+1 risk never falls as the number grows, -1 never rises): domain knowledge that keeps
    # sparse corners of the data from teaching the trees that more complaints mean less risk.
    monotone: tuple[tuple[str, int], ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def base_estimator(estimator: CalibratedClassifierCV) -> BaseEstimator:
    """The single base pipeline inside a CalibratedClassifierCV fitted with ensemble=False."""
    return estimator.calibrated_classifiers_[0].estimator


def holdout_roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC as training reports it and the promotion gate compares it (4 decimals, so the two agree)."""
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, p)), 4)
