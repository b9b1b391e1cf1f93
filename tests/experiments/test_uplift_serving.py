"""The uplift policy file in service: outside the experiment it chooses each eligible customer's offer with
the same rule the evaluation applies, logs its version, uplift and value, and never overrides consent."""

from __future__ import annotations

import json

import pytest

from backend.experiments import policy
from backend.experiments.offers import OFFERS
from ml import uplift
from tests.dbcheck import rows
from tests.experiments.helpers import ask_to_cancel, customers


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    # A policy fitted on the simulation, for this test only: `ml.uplift --save` refuses simulated data.
    units = uplift.simulate(3000, seed=182)
    path = tmp_path_factory.mktemp("uplift") / "uplift-policy.joblib"
    uplift.save(uplift.TLearner("logistic").fit(units), path, "test policy")
    return path


def test_outside_the_experiment_the_saved_policy_chooses_and_logs_why(client, database_url, policy_file):
    changed = client.app.state.settings.model_copy(update={"uplift_policy_path": policy_file})
    client.app.state.settings = changed
    people = customers(database_url, 20)
    answers = {p["id"]: ask_to_cancel(client, p["email"]) for p in people}
    logged = rows(database_url, "SELECT * FROM decisions WHERE kind = 'retention_offer' ORDER BY id")
    assert len(logged) == len(people)
    served = policy.load(policy_file)
    made = 0
    for row in logged:
        inputs, scores = (json.loads(v) if isinstance(v, str) else v for v in (row["inputs"], row["scores"]))
        answer = answers[row["customer_id"]]
        if not inputs["marketing_consent"]:
            assert answer["offer"] is None and row["version"] == "eligibility rules"
            continue
        assert row["version"] == "uplift test policy"
        # The logged inputs alone give the same decision again.
        offer, estimated, value = served.decide(
            inputs["features"], inputs["clv_used"], inputs["monthly_charge"]
        )
        assert scores["uplift"] == pytest.approx(estimated) and scores["value"] == pytest.approx(value)
        if offer is None:
            assert answer["offer"] is None and row["action"] == "no_offer"
        else:
            made += 1
            assert estimated > 0 and value > 0
            assert answer["offer"] == OFFERS[offer].text and row["action"] == f"offer:{offer}"
    assert made > 0


def test_a_policy_is_never_saved_from_simulated_outcomes():
    with pytest.raises(SystemExit):
        uplift.main(["--save", "--units", "10"])


def test_a_missing_or_broken_policy_file_leaves_the_rules(tmp_path):
    assert policy.load(tmp_path / "absent.joblib") is None
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"not a policy")
    assert policy.load(broken) is None
