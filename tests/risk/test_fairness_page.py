"""/admin/models in Chromium: the fairness flag of a biased churn candidate refuses its promotion until the
admin gives a reason, and the Challenger panel shows the measured lift and promotes the challenger. The app
runs in a uvicorn server on loopback (`app_server`; no Rasa needed); models and the logged history are the
simulated ones of test_fairness.py and test_challenger.py."""

import asyncio
import threading

import pytest
from playwright.sync_api import expect

from backend.core.config import Settings
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures
from tests.dbcheck import rows
from tests.risk.helpers import WEAK_OVERRIDE, churn_models, escalation_model, install
from tests.risk.test_challenger import seed_history, start_challenger, weak_escalation_model
from tests.risk.test_fairness import biased_churn_model

ADMIN = "admin@northwind.example"


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    return settings.model_copy(update={"risk_model_dir": tmp_path / "models"})


def run(coroutine):
    """asyncio.run in a thread of its own: the session's Playwright keeps an event loop in this one."""
    result = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    worker.start()
    worker.join()
    return result[0]


@pytest.fixture
def registry_state(client, settings, database_url) -> dict[str, int]:
    """Production: the weak churn model and the weak escalation model; candidates: the biased churn model
    and the full escalation model, the latter running as challenger with a seeded logged history."""
    directory = settings.risk_model_dir
    _, weak = churn_models()
    run(install(database_url, weak, directory, fairness_override=WEAK_OVERRIDE))
    biased = run(install(database_url, biased_churn_model(), directory, promote=False))
    run(install(database_url, weak_escalation_model(), directory))
    rival = run(install(database_url, escalation_model(), directory, promote=False))
    start_challenger(client, rival)
    run(seed_history(database_url, settings, 150))
    return {"biased": biased, "challenger": rival}


@pytest.mark.browser
def test_fairness_override_and_challenger_promotion_on_the_models_page(
    registry_state,
    app_server,
    new_page,  # noqa: F811
    database_url,
):
    page = sign_in(new_page(), f"{app_server}/admin/models", ADMIN)
    status = page.locator("#status")

    panel = page.locator("#challenger")
    expect(panel).to_contain_text("allowed: the interval lies above 0", timeout=30_000)
    expect(panel).to_contain_text("Lift, 95 % interval")

    biased = page.locator("#versions tr", has_text="churn").filter(has_text="candidate")
    expect(biased.locator("td").nth(6)).to_have_text("flagged")
    biased.get_by_role("button", name="Fairness").click()
    expect(page.locator("#fairness-summary")).to_contain_text("calibration_error by plan: plus")
    expect(page.locator("#fairness-gaps")).to_contain_text("calibration_error")

    biased.get_by_role("button", name="Promote").click()
    expect(status).to_contain_text("Refused: the fairness audit flagged this version")
    screenshot(page, "admin-models-fairness-flag")
    page.get_by_label("Reason to promote despite the flag (audited)").fill("reviewed: plus price change")
    page.get_by_role("button", name="Promote anyway").click()
    expect(status).to_contain_text("promoted despite the fairness flag")
    [event] = rows(  # the biased candidate's override (the weak production model came with one of its own)
        database_url,
        "SELECT actor, after FROM audit_events WHERE action = 'model.fairness_override' AND entity_id = :i",
        i=str(registry_state["biased"]),
    )
    assert event["actor"] == ADMIN and "plus price change" in str(event["after"])

    page.get_by_role("button", name="Promote challenger").click()
    expect(status).to_contain_text("escalation v2 promoted")
    expect(page.locator("#versions tr", has_text="escalation").filter(has_text="production")).to_contain_text(
        "v2"
    )
    screenshot(page, "admin-models-challenger-promoted")
