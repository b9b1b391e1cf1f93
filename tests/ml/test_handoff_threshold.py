"""ml/handoff_threshold.py: the hand-off policy's threshold is the middle of the band of out-of-fold F1 within
one standard error of the best, so noise in the scores' last digits does not move it along a flat curve."""

from pathlib import Path
from types import ModuleType

import numpy as np

from ml import conversations, handoff_threshold
from ml import handoff as trainer
from ml.handoff_threshold import Rows, band_middle, candidates, f1_curve


def _rows(n: int = 1200, seed: int = 0) -> tuple[Rows, np.ndarray]:
    """Scores that separate the classes only loosely (a flat F1 curve), ten groups, a few guardrail rows and a
    few declined ones."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    scores = np.clip(rng.normal(0.25 + 0.4 * y, 0.18), 0.0, 1.0)
    always = rng.random(n) < 0.03
    eligible = ~always & (rng.random(n) > 0.02)
    return Rows(y, scores, always, eligible), np.repeat(np.arange(10), n // 10)


def test_the_curve_is_what_the_policy_decides_at_each_threshold() -> None:
    rows, _ = _rows()
    thresholds = candidates(rows.scores)
    curve = f1_curve(rows, thresholds, np.ones(len(rows.y)))
    for at in range(0, len(thresholds), 37):
        decided = rows.always | (rows.eligible & (rows.scores >= thresholds[at]))
        assert curve[at] == trainer._f1(rows.y, decided)


def test_weights_count_a_row_that_many_times() -> None:
    rows, _ = _rows(200)
    weights = np.arange(200) % 3
    repeated = np.repeat(np.arange(200), weights)
    copy = Rows(rows.y[repeated], rows.scores[repeated], rows.always[repeated], rows.eligible[repeated])
    thresholds = candidates(rows.scores)
    assert np.allclose(
        f1_curve(rows, thresholds, weights.astype(float)), f1_curve(copy, thresholds, np.ones(len(repeated)))
    )


def test_the_threshold_sits_inside_the_band_and_the_argmax_may_not_be_its_middle() -> None:
    rows, groups = _rows()
    thresholds = candidates(rows.scores)
    curve = f1_curve(rows, thresholds, np.ones(len(rows.y)))
    threshold, f1 = band_middle(rows, groups)
    best = curve.max()
    error = handoff_threshold.best_f1_error(rows, thresholds, groups, int(np.flatnonzero(curve == best)[-1]))
    assert 0.0 < error < 0.1
    assert f1 == curve[thresholds == threshold][0] and f1 >= best - error


def test_noise_in_the_last_digits_moves_the_argmax_more_than_the_band_middle() -> None:
    """What two machines' encoders did to the shipped threshold (docs/benchmarks.md): the same rows with
    their scores jittered by a thousandth."""
    rows, groups = _rows()
    rng = np.random.default_rng(1)
    argmaxes, middles = [], []
    for _ in range(6):
        jittered = Rows(rows.y, np.clip(rows.scores + rng.normal(0, 1e-3, len(rows.y)), 0, 1), rows.always,
                        rows.eligible)  # fmt: skip
        thresholds = candidates(jittered.scores)
        curve = f1_curve(jittered, thresholds, np.ones(len(rows.y)))
        argmaxes.append(thresholds[len(curve) - 1 - int(np.argmax(curve[::-1]))])
        middles.append(band_middle(jittered, groups)[0])
    assert np.ptp(middles) < np.ptp(argmaxes)


def test_the_policy_cache_key_covers_every_module_of_the_fit() -> None:
    """`make model` reuses a fitted policy while `dev_key` is unchanged: every module of ml/ the trainer uses
    must be hashed, or a change to it (this rule's, say) would ship a stale policy."""
    used = {
        Path(module.__file__).resolve()
        for module in vars(trainer).values()
        if isinstance(module, ModuleType) and module.__name__.startswith("ml.") and module.__file__
    }
    assert Path(handoff_threshold.__file__).resolve() in used
    assert used - {Path(trainer.__file__).resolve()} <= {p.resolve() for p in trainer.fitted_from()} | {
        Path(conversations.__file__).resolve()  # the loader: its data files are hashed
    }
