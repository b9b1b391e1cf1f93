"""A promoted hand-off policy serves without a restart: the running app sees the served file relinked (as a
promotion does it, ml/handoff.py `link`), loads the new policy beside the turns and decides the next turn
with it; a changed file that does not load leaves the serving policy in place (backend/handoff/served.py)."""

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.handoff.features import FEATURES
from backend.handoff.policy import RulesPolicy
from backend.handoff.served import UNLOADED, ServedPolicy
from ml.handoff import link
from tests.app_fixtures import anonymous_widget
from tests.decisions.helpers import decisions, parses, send

# The policy's call has its own deadline tests (tests/decisions/test_handoff_decisions.py); here the learnt
# policy must always get to decide, whatever the machine's load.
GENEROUS_DEADLINE_MS = 30_000
# Bounds for waiting on the reload loop, which runs every RELOAD_S: generous, never a measured time.
RELOAD_S = 0.05
WAIT_S = 30.0


def policy_body(version: str) -> dict[str, object]:
    return {
        "format": "supportdesk.handoff-policy.v1",
        "version": version,
        "features": list(FEATURES),
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
        "coef": [1.0 if name == "negative_now" else 0.0 for name in FEATURES],
        "intercept": 0.0,
        "threshold": 0.7,
    }


def promote(folder: Path, served: Path, version: str, text: str | None = None) -> Path:
    """A policy file written beside the served path, and the served path relinked to it, as promotions do."""
    target = folder / "handoff-policies" / f"decisions-{version}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text if text is not None else json.dumps(policy_body(version)))
    link(target, served)
    return target


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_S} s: {what}"
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------- the holder


async def test_a_relinked_file_is_loaded_and_an_unchanged_one_is_not(tmp_path):
    served = tmp_path / "handoff-policy.json"
    promote(tmp_path, served, "v1")
    holder = ServedPolicy("learnt", served, RELOAD_S)
    assert holder.serving.policy.name == "learnt@v1" and holder.serving.fallback is None
    assert await holder.refresh() is False
    promote(tmp_path, served, "v2")
    assert await holder.refresh() is True
    assert holder.serving.policy.name == "learnt@v2"


async def test_a_corrupt_or_vanished_file_keeps_the_policy_serving(tmp_path, caplog):
    served = tmp_path / "handoff-policy.json"
    promote(tmp_path, served, "v1")
    holder = ServedPolicy("learnt", served, RELOAD_S)
    promote(tmp_path, served, "half-written", text='{"format": "supportdesk.handoff-policy.v1", "vers')
    with caplog.at_level(logging.ERROR, logger="backend.handoff.served"):
        assert await holder.refresh() is False
    assert holder.serving.policy.name == "learnt@v1"
    assert "does not load" in caplog.text and "learnt@v1 keeps serving" in caplog.text
    assert await holder.refresh() is False  # the same broken file is not read (nor logged) again
    served.unlink()
    assert await holder.refresh() is False and holder.serving.policy.name == "learnt@v1"
    promote(tmp_path, served, "v3")  # a good file after a bad one serves
    assert await holder.refresh() is True and holder.serving.policy.name == "learnt@v3"


async def test_a_policy_file_that_appears_later_replaces_the_rules_fallback(tmp_path):
    served = tmp_path / "handoff-policy.json"
    holder = ServedPolicy("learnt", served, RELOAD_S)
    assert isinstance(holder.serving.policy, RulesPolicy) and holder.serving.fallback == UNLOADED
    promote(tmp_path, served, "v1")  # e.g. the cluster's model Job seeded the volume after the pod started
    assert await holder.refresh() is True
    assert holder.serving.policy.name == "learnt@v1" and holder.serving.fallback is None


@pytest.mark.parametrize(("kind", "interval_s"), [("rules", RELOAD_S), ("off", RELOAD_S), ("learnt", 0)])
def test_nothing_is_watched_unless_a_learnt_policy_may_change(tmp_path, kind, interval_s):
    served = tmp_path / "handoff-policy.json"
    promote(tmp_path, served, "v1")
    assert ServedPolicy(kind, served, interval_s).loop is None


# ------------------------------------------------------------------------------------- a running app


@pytest.mark.integration
def test_a_promoted_policy_decides_the_next_turn_of_a_running_app(client_with, database_url, rasa, tmp_path):
    served = tmp_path / "models" / "handoff-policy.json"
    promote(served.parent, served, "v1")
    client = client_with(
        handoff_policy="learnt",
        handoff_model_path=served,
        handoff_reload_interval_s=RELOAD_S,
        decision_deadline_ms=GENEROUS_DEADLINE_MS,
    )
    holder: ServedPolicy = client.app.state.handoff_policy
    widget = anonymous_widget(client)
    rasa.answer = parses(*[("order_status", "neutral")] * 3)
    send(client, widget, "where is my parcel")

    promote(served.parent, served, "v2")
    wait_for(lambda: holder.serving.policy.name == "learnt@v2", "the running app loads the promoted policy")
    send(client, widget, "still waiting for it")

    promote(served.parent, served, "corrupt", text="not json")
    seen = holder.loop.rounds
    wait_for(lambda: holder.loop.rounds >= seen + 2, "the reload loop has looked at the corrupt file")
    send(client, widget, "any news")

    logged = decisions(database_url, "handoff", conversation_id=widget["conversation_id"])
    assert [d["version"] for d in logged] == ["learnt@v1", "learnt@v2", "learnt@v2"]
    assert [d["fallback"] for d in logged] == [None, None, None]
    assert holder.loop.failures == 0 and holder.loop in client.app.state.background
