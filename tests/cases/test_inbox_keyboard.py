"""The inbox in Chromium: the case lists are keyboard-navigable (arrow keys, Home, End; Enter opens). The app
runs in a uvicorn server on loopback with a scripted Rasa (`app_server`)."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.app_fixtures import SERVICE_HEADERS
from tests.browser.conftest import browser, new_page, sign_in  # noqa: F401 - fixtures

SUPERVISOR = "jordan@northwind.example"


def queued_case(api: httpx.Client) -> None:
    """An anonymous customer handed over; nobody is online, so the case waits in the queue."""
    conversation_id = api.post("/api/v1/widget/sessions", json={}).json()["conversation_id"]
    url = f"/api/v1/service/conversations/{conversation_id}/handoff"
    assert api.post(url, json={"reason": "asked for a person"}, headers=SERVICE_HEADERS).status_code == 200


def focused_case(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.dataset.caseId")


@pytest.mark.browser
def test_the_arrow_keys_move_through_the_queue_and_enter_opens_a_case(app_server, new_page):  # noqa: F811
    api = httpx.Client(base_url=app_server, timeout=10)
    for _ in range(3):
        queued_case(api)
    page = sign_in(new_page(), f"{app_server}/inbox", SUPERVISOR)
    items = page.locator("#queue li[tabindex]")
    expect(items).to_have_count(3)
    ids = [items.nth(i).get_attribute("data-case-id") for i in range(3)]

    items.first.focus()
    page.keyboard.press("ArrowDown")
    assert focused_case(page) == ids[1]
    page.keyboard.press("End")
    assert focused_case(page) == ids[2]
    page.keyboard.press("ArrowDown")  # past the end: stays
    assert focused_case(page) == ids[2]
    page.keyboard.press("Home")
    assert focused_case(page) == ids[0]
    page.keyboard.press("Enter")
    expect(page.locator(f"#queue li[data-case-id='{ids[0]}']")).to_have_attribute("aria-current", "true")
