"""`python -m ml.handoff writers`: each dev writer's set scored by the policy fitted on the others (the check
the hand-off cues are kept or dropped by, docs/benchmarks.md). The parses here carry the labelled sentiment
and no intent (the policy then reads the customers' words and the sentiment), so no Rasa model is needed."""

import pytest

from ml import conversations
from ml.handoff import writers
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
