"""ml/leads.py: the history is simulated with outcomes no feature decides, the split is by buyer, and the
test split's buyers are never seen in training; the served artifact scores with reasons."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from backend.leads import scoring, signals, simulation
from backend.leads.features import lead_features
from ml import leads


@pytest.fixture(scope="module")
def history() -> leads.History:
    return leads.simulate(buyers=600)


def test_outcomes_are_not_a_function_of_the_features(history: leads.History) -> None:
    # One buyer's CRM record, many leads: identical feature rows (the message's interest, no quantity, no
    # address) still end both ways, because the hidden budget, need and urgency decide.
    rng = random.Random(5)
    facts = simulation.draw_facts(random.Random(1)) or simulation.draw_facts(random.Random(2))
    rows = []
    for _ in range(400):
        lead = simulation.draw_lead(facts, rng)
        rows.append((tuple(sorted(lead_features(facts, signals.read(lead.message)).items())), lead.converted))
    outcomes: dict[tuple, set[bool]] = {}
    for features, converted in rows:
        outcomes.setdefault(features, set()).add(converted)
    assert any(len(seen) == 2 for seen in outcomes.values())
    assert 0.1 < history.y.mean() < 0.6
    assert not np.isin(history.truth, [0.0, 1.0]).any()  # the true odds are never certain


def test_the_split_is_by_buyer_and_test_buyers_are_unseen(history: leads.History) -> None:
    parts = leads.split(history.buyer)
    assert sorted(np.concatenate(list(parts.values()))) == list(range(len(history.y)))
    owners = {name: set(history.buyer[rows]) for name, rows in parts.items()}
    assert not owners["train"] & owners["test"] and not owners["train"] & owners["dev"]
    assert not owners["dev"] & owners["test"]
    assert any(np.bincount(history.buyer)[list(owners["test"])] > 1)  # buyers with several leads exist
    assert leads.split(history.buyer) is not parts and all(
        np.array_equal(a, b) for a, b in zip(leads.split(history.buyer).values(), parts.values(), strict=True)
    )


@pytest.mark.slow  # trains both candidates and bootstraps
def test_the_model_trains_only_on_training_buyers(history: leads.History, monkeypatch) -> None:
    seen: list[pd.DataFrame] = []
    fit = leads.fit

    def spy(algorithm, X, y, groups):
        seen.append(X)
        return fit(algorithm, X, y, groups)

    monkeypatch.setattr(leads, "fit", spy)
    report, _ = leads.run(history, threshold=0.5)
    test_rows = set(leads.split(history.buyer)["test"])
    assert seen and all(not (set(X.index) & test_rows) for X in seen)
    assert set(report["test"]) >= {"model", "rules (Platt on dev)", "rules (points / 100)"}
    k = report["k"]
    assert k == int(leads.TOP_SHARE * report["rows"]["test"])
    assert all(f"precision_at_{k}" in figures and "pr_auc" in figures for figures in report["test"].values())


@pytest.mark.slow  # trains both candidates and bootstraps
def test_the_saved_model_scores_with_reasons(tmp_path, history: leads.History) -> None:
    report, model = leads.run(history, threshold=0.5)
    parts = leads.split(history.buyer)
    path = tmp_path / "lead.joblib"
    leads.artifact.save(leads.to_artifact(model, history, parts["train"], parts["test"], report), path)
    row = history.X.iloc[0].to_dict()
    scored = scoring.score(row, path)
    assert scored.fallback is None and scored.version.startswith("lead ") and 0 < scored.score < 1
    assert scored.reasons and all(r["text"] and r["feature"] in leads.FEATURES for r in scored.reasons)
    expected = leads.predict(model, leads.frame([row]))[0]
    assert scored.score == pytest.approx(expected, abs=1e-6)
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"not a model")
    assert scoring.score(row, broken).fallback.startswith("lead model does not load")
