"""The experiments page in Chromium: an admin creates the retention-offer experiment from the form, starts it,
customers ask to cancel, and the results show every arm with the counts the API gives. The app runs in a
uvicorn server on loopback with the scripted Rasa (`app_server`), so the test needs no trained model."""

from __future__ import annotations

import httpx

from tests.app_fixtures import SERVICE_HEADERS
from tests.browser.conftest import browser, new_page, screenshot, sign_in  # noqa: F401 - fixtures
from tests.experiments.helpers import ADMIN, admin_results, customers, open_widget


def test_an_admin_starts_an_offer_experiment_and_reads_both_arms(
    app_server,
    new_page,  # noqa: F811
    settings,
    database_url,
):
    page = sign_in(new_page(), f"{app_server}/admin/experiments", ADMIN)
    page.get_by_role("button", name="Create (draft)").click()  # the form's defaults: the retention offers
    page.get_by_text("units per arm planned").wait_for()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Stop").wait_for()
    with httpx.Client(base_url=app_server, timeout=30) as http:
        for person in customers(database_url, 30):
            conversation = open_widget(http, person["email"], settings.identity_secret)
            url = f"/api/v1/service/conversations/{conversation}/retention-offer"
            http.post(url, headers=SERVICE_HEADERS).raise_for_status()
        api = admin_results(http, "retention-offers")
    page.get_by_role("button", name="Results").click()
    table = page.locator("#results-body table").first
    table.wait_for()
    shown = {
        cells[0]: int(cells[1])
        for cells in (row.locator("td").all_inner_texts() for row in table.locator("tr").all()[1:])
    }
    expected = {arm["variant"]: arm["assigned"] for arm in api["metrics"]["still_subscribed_30d"]}
    assert shown == expected and shown["control"] > 0 and sum(shown.values()) > shown["control"]
    assert "interim" in page.locator("#results-note").inner_text()
    screenshot(page, "experiments-results")
