"""`python -m ml.handoff writers`: each dev writer's set scored by the policy fitted on the others (the check
the hand-off cues are kept or dropped by, docs/benchmarks.md). The parses here carry the labelled sentiment
and no intent (the policy then reads the customers' words and the sentiment), so no Rasa model is needed.
The policy's C and threshold are chosen on the same kind of folds: one writer held out at a time."""

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.model_selection import LeaveOneGroupOut

from ml import conversations, handoff_threshold
from ml.handoff import C_GRID, _guardrail_masks, _out_of_fold, fit, rows, writer_groups, writers
from tests.handoff.labelled_parses import labelled_parses


@pytest.mark.slow  # one fit per writer
def test_every_dev_writer_is_held_out_once_and_scored_by_a_policy_fitted_without_it():
    dev = conversations.of_split(conversations.load(), "dev")
    parses = labelled_parses(dev)
    table = writers(dev, parses)
    assert [row["held_out"] for row in table] == sorted({c.id[0] for c in dev})
    for row in table:
        assert 0.0 <= row["rules_f1"] <= 1.0 and 0.0 < row["learnt_f1"] <= 1.0
        # F1 is the harmonic mean of the precision and recall printed beside it
        p, r = row["learnt_precision"], row["learnt_recall"]
        assert abs(row["learnt_f1"] - 2 * p * r / (p + r)) < 0.002


def test_writer_folds_hold_a_writer_out_whole() -> None:
    """A held-out writer's scores come from fits that never saw that writer's labels: flipping every label
    of one writer leaves that writer's held-out scores as they were (within-writer folds would move them)."""
    rng = np.random.default_rng(3)
    writer = np.repeat(np.array(["a", "b", "c"]), 40)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + rng.normal(scale=0.5, size=120) > 0.5).astype(int)
    flipped = np.where(writer == "a", 1 - y, y)
    before = _out_of_fold(X, y, writer, 1.0, LeaveOneGroupOut())
    after = _out_of_fold(X, flipped, writer, 1.0, LeaveOneGroupOut())
    assert np.allclose(before[writer == "a"], after[writer == "a"])
    assert not np.allclose(before[writer == "b"], after[writer == "b"])


def test_writer_groups_name_each_rows_dev_set() -> None:
    dev = conversations.of_split(conversations.load(), "dev")
    parses = labelled_parses(dev)
    X, _, _ = rows(dev, parses)
    writers_of_rows = writer_groups(dev, parses)
    assert len(writers_of_rows) == len(X)
    assert set(writers_of_rows) == {c.id[0] for c in dev}


@pytest.mark.slow  # fits the policy on the dev conversations
def test_the_shipped_threshold_and_c_are_chosen_on_held_out_writers() -> None:
    dev = conversations.of_split(conversations.load(), "dev")
    parses = labelled_parses(dev)
    policy, report = fit(dev, parses, version="test")
    chosen = report["chosen_on_dev"]
    assert chosen["folds"].startswith("leave-one-writer-out")
    X, y, _ = rows(dev, parses)
    groups = writer_groups(dev, parses)
    folds = (X, y, groups)
    losses = {
        c: log_loss(y, np.clip(_out_of_fold(*folds, c, LeaveOneGroupOut()), 1e-6, 1 - 1e-6)) for c in C_GRID
    }
    assert chosen["C"] == min(losses, key=losses.__getitem__)
    held_out = _out_of_fold(*folds, chosen["C"], LeaveOneGroupOut())
    threshold_rows = handoff_threshold.Rows(y, held_out, *_guardrail_masks(X))
    threshold, f1 = handoff_threshold.band_middle(threshold_rows, groups)
    assert policy.threshold == threshold and chosen["cv_f1_at_threshold"] == round(f1, 4)
