"""The hand-off policy's champion-challenger through the model registry (ml/handoff_promotion.py): a policy
fitted from logged labels is promoted (registry row, audited, served file relinked) only when its held-out F1
lift has a 95 % interval above 0; otherwise it stays a candidate. And `make model` (ml/handoff.py build) keeps
a promoted policy until the dev inputs change."""

import json
from pathlib import Path

import pytest

from ml import decision_labels, handoff
from tests.app_fixtures import staff_headers
from tests.dbcheck import rows
from tests.decisions.test_training_from_decisions import logged_history, perfect_policy, train

# Every test fits hand-off policies and bootstraps their lift: slow by design.
pytestmark = pytest.mark.slow
ADMIN = "admin@northwind.example"


@pytest.fixture
def dev_inputs(monkeypatch):
    """The dev inputs' hash `make model` would compute (no Rasa model is needed to stand for one)."""
    current = {"key": "dev-1"}
    monkeypatch.setattr(handoff, "dev_key", lambda: current["key"])
    return current


def handoff_versions(database_url: str) -> dict[str, dict]:
    found = rows(database_url, "SELECT * FROM model_versions WHERE kind = 'handoff' ORDER BY id")
    for row in found:
        if isinstance(row["metrics"], str):  # SQLite returns JSON text
            row["metrics"] = json.loads(row["metrics"])
    return {row["version"]: row for row in found}


def events(database_url: str, action: str) -> list[dict]:
    return rows(database_url, "SELECT * FROM audit_events WHERE action = :a ORDER BY id", a=action)


def test_a_better_policy_is_promoted_through_the_registry_and_audited(database_url, tmp_path, dev_inputs):
    logged_history(database_url, 80)
    served = tmp_path / "models" / "handoff-policy.json"  # none yet: the rules serve
    served.parent.mkdir()
    report = train(database_url, served)
    assert report["registry"] == {"champion": "v1", "candidate": "v2", "status": "production"}
    assert report["gate"]["metric"] == "f1" and report["gate"]["lift_ci95"][0] > 0
    versions = handoff_versions(database_url)
    assert versions["v1"]["status"] == "retired" and versions["v1"]["metrics"]["policy"] == "rules"
    assert versions["v2"]["status"] == "production" and versions["v2"]["replaces_id"] == versions["v1"]["id"]
    assert versions["v2"]["metrics"]["gate"]["passed"] is True and versions["v2"]["artifact_path"] is None
    [promoted] = events(database_url, "model.promote")
    assert promoted["actor"] == "system:train-handoff" and promoted["entity_id"] == str(versions["v2"]["id"])
    assert "lift_ci95" in str(promoted["after"]) and "rules" in str(promoted["before"])
    body = json.loads(served.read_text())  # the served link now names the promoted file
    assert served.resolve() == tmp_path / "models" / "handoff-policies" / f"decisions-{body['version']}.json"
    assert body["promotion"]["dev_key"] == "dev-1"
    verdict = decision_labels.verdict(report)
    assert verdict.startswith("promoted: handoff v2 replaces v1: held-out F1")


def test_a_policy_no_better_than_the_served_one_stays_a_candidate(database_url, tmp_path, dev_inputs):
    logged_history(database_url, 80)
    served = perfect_policy(tmp_path / "handoff-policy.json")
    before = served.read_text()
    first = train(database_url, served)
    assert first["promoted"] is None and first["gate"]["passed"] is False
    assert first["registry"] == {"champion": "v1", "candidate": "v2", "status": "candidate"}
    again = train(database_url, served)  # the served policy's row is found, not entered twice
    assert again["registry"] == {"champion": "v1", "candidate": "v3", "status": "candidate"}
    versions = handoff_versions(database_url)
    assert (
        versions["v1"]["status"] == "production" and versions["v1"]["metrics"]["policy"] == "learnt@champion"
    )
    assert {versions[v]["status"] for v in ("v2", "v3")} == {"candidate"}
    assert versions["v2"]["metrics"]["gate"]["reason"].startswith("the 95 % interval of the F1 lift")
    assert not events(database_url, "model.promote") and len(events(database_url, "model.register")) == 3
    assert not served.is_symlink() and served.read_text() == before
    assert decision_labels.verdict(again).startswith("refused: handoff v3 stays a candidate")


def test_the_registry_api_refuses_to_promote_a_handoff_policy(client, database_url, tmp_path, dev_inputs):
    logged_history(database_url, 80)
    train(database_url, perfect_policy(tmp_path / "handoff-policy.json"))
    candidate = handoff_versions(database_url)["v2"]
    refused = client.post(f"/api/v1/models/{candidate['id']}/promote", headers=staff_headers(client, ADMIN))
    assert refused.status_code == 409 and "make train-handoff" in refused.json()["detail"]
    assert handoff_versions(database_url)["v2"]["status"] == "candidate"
    # The registry page reads why it offers no action on these rows; rollback is not one of its kinds.
    listed = client.get("/api/v1/models?limit=100", headers=staff_headers(client, ADMIN)).json()
    notes = {v["kind"]: v["managed_elsewhere"] for v in listed}
    assert "make train-handoff" in notes["handoff"]
    assert all(note is None for kind, note in notes.items() if kind != "handoff")
    rollback = client.post(
        "/api/v1/models/rollback", json={"kind": "handoff"}, headers=staff_headers(client, ADMIN)
    )
    assert rollback.status_code == 422


def test_make_model_keeps_a_promoted_policy_until_the_dev_inputs_change(
    database_url, tmp_path, dev_inputs, monkeypatch
):
    logged_history(database_url, 80)
    served = tmp_path / "models" / "handoff-policy.json"
    served.parent.mkdir()
    promoted = train(database_url, served)["promoted"]
    cache = tmp_path / "cache"
    (cache / "handoff").mkdir(parents=True)
    for key in ("dev-1", "dev-2"):  # the dev fits, as if built before (no Rasa parse here)
        perfect_policy(cache / "handoff" / f"policy-{key}.json")
    monkeypatch.setattr(handoff, "CURRENT_POLICY", served)
    monkeypatch.setattr(handoff, "CACHE", cache)

    assert handoff.build() == served.resolve() == Path(promoted)  # same dev inputs: the promoted one stays
    dev_inputs["key"] = "dev-2"  # the labelled data (or the Rasa model) changed after the promotion
    assert handoff.build() == cache / "handoff" / "policy-dev-2.json" == served.resolve()
    assert handoff.build() == served.resolve()  # a dev fit is relinked as before
