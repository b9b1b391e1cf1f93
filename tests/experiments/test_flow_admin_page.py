"""The experiments page in Chromium for a bot-flow experiment: an admin plans kb-not-sure from the form (per
conversation, the flow's two variants, hand-over as primary and the conversation guardrails), starts it,
conversations reach the flow through the action server's endpoint, some are handed over, the outcome job
runs, and the page shows every metric's arms and the difference interval exactly as the API gives them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from backend.core.database import utcnow
from tests.app_fixtures import SERVICE_HEADERS
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures
from tests.browser.js_format import to_fixed
from tests.experiments.helpers import ADMIN, admin_results, customers, join, open_widget

GUARDRAILS = ["asked_for_person_7d", "returned_7d", "csat_satisfied_7d"]


def pct(value: float | None) -> str:
    """As experiments.js writes a share."""
    return "—" if value is None else f"{to_fixed(value * 100, 1)}%"


def test_an_admin_runs_a_flow_experiment_and_reads_its_results_with_intervals(
    app_server,
    new_page,  # noqa: F811
    settings,
    database_url,
):
    page = sign_in(new_page(), f"{app_server}/admin/experiments", ADMIN)
    page.locator("#key").fill("kb-not-sure")
    page.locator("#name").fill("Not sure: say so, or show the closest article")
    page.locator("#unit").select_option("conversation")
    page.locator("#variants").fill("not_sure:1\nsuggest_closest:1")
    page.locator("#primary").select_option("handed_over_7d")
    page.locator("#guardrails").fill(", ".join(GUARDRAILS))
    page.locator("#baseline").fill("0.3")
    page.locator("#effect").fill("0.2")
    page.get_by_role("button", name="Create (draft)").click()
    page.get_by_text("units per arm planned").wait_for()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Stop").wait_for()
    with httpx.Client(base_url=app_server, timeout=30) as http:
        for n, person in enumerate(customers(database_url, 24)):
            conversation = open_widget(http, person["email"], settings.identity_secret)
            url = f"/api/experiments/flows/kb-not-sure/conversations/{conversation}"
            assert http.post(url, headers=SERVICE_HEADERS).json()["experiment"] == "kb-not-sure"
            if n % 3 == 0:  # a third still want a person after the flow
                handoff = f"/api/v1/service/conversations/{conversation}/handoff"
                http.post(handoff, json={"reason": "not sure"}, headers=SERVICE_HEADERS).raise_for_status()
        with ThreadPoolExecutor(1) as worker:  # Playwright's sync API holds this thread's event loop
            # A week on: every conversation's hand-over is known (returns and CSAT: none, or unrated).
            assert worker.submit(join, database_url, utcnow() + timedelta(days=8)).result() == 24
        api = admin_results(http, "kb-not-sure")
    page.get_by_role("button", name="Results").click()
    page.locator("#results-body table").nth(3).wait_for()
    headings = page.locator("#results-body h3").all_inner_texts()
    assert headings == ["handed_over_7d (primary)", *(f"{g} (guardrail)" for g in GUARDRAILS)]
    for position, (metric, arms) in enumerate(api["metrics"].items()):
        table = page.locator("#results-body table").nth(position)
        shown = [row.locator("td").all_inner_texts() for row in table.locator("tr").all()[1:]]
        expected = [
            [a["variant"], str(a["assigned"]), str(a["measured"]), str(a["successes"]),
             pct(a["rate"]["estimate"]), f"{pct(a['rate']['low'])} to {pct(a['rate']['high'])}"]
            for a in arms
        ]  # fmt: skip
        assert shown == expected, metric
    handed = {a["variant"]: a for a in api["metrics"]["handed_over_7d"]}
    assert handed["not_sure"]["assigned"] > 0 and handed["suggest_closest"]["assigned"] > 0
    assert sum(a["successes"] for a in handed.values()) == 8
    assert all(a["measured"] == a["assigned"] for a in handed.values())
    [difference] = [c for c in api["comparisons"] if c["metric"] == "handed_over_7d"]
    d = difference["difference"]
    line = f"suggest_closest minus control: {pct(d['estimate'])} ({pct(d['low'])} to {pct(d['high'])})"
    assert line in page.locator("#results-body li").all_inner_texts()
    screenshot(page, "experiments-flow-results")
