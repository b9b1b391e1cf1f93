"""The analytics dashboard in headless Chromium: real traffic through the stack, charts with its figures."""

import os
import shutil

import httpx
import pytest
from playwright.sync_api import expect

from scripts.paths import ROOT
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
ADMIN = "admin@northwind.example"
TRAFFIC = [  # conversations as customers would write them, through the real bot
    ["where is my order ORD-100001?", "thanks"],
    ["I want to cancel my subscription", "no, just cancel it"],
    ["this is the worst service ever, I am furious", "my parcel is two weeks late"],
    ["how much is the premium plan?", "can I change my plan?"],
    ["I was charged twice this month", "I want a refund"],
    ["I want to talk to a real person please"],
]


def send_traffic(base: str) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        for turns in TRAFFIC:
            session = client.post("/api/v1/widget/sessions", json={}).json()
            auth = {"Authorization": f"Bearer {session['token']}"}
            for text in turns:
                url = f"/api/v1/widget/conversations/{session['conversation_id']}/messages"
                client.post(url, json={"text": text}, headers=auth).raise_for_status()


def api_summary(base: str, window: str) -> dict:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/v1/auth/token", data={"username": ADMIN, "password": "northwind-demo"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return client.get(f"/api/v1/analytics/summary?window={window}", headers=headers).json()


def chart_sum(page, canvas: str, dataset: int = 0) -> float:
    return page.evaluate(
        "([id, i]) => Chart.getChart(id).data.datasets[i].data.reduce((a, b) => a + (b || 0), 0)",
        [canvas, dataset],
    )


def test_dashboard_charts_show_the_figures_of_real_traffic(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    send_traffic(base)
    expected = api_summary(base, "24h")
    assert expected["messages"] >= sum(len(turns) for turns in TRAFFIC)
    assert len(expected["intent_mix"]) >= 4 and expected["handoffs"] >= 1

    page = sign_in(new_page(1280, 1400), f"{base}/admin/dashboard", ADMIN)
    expect(page.locator("body[data-loaded='24h']")).to_have_count(1)
    expect(page.locator(".tile[data-figure='Messages'] .value")).to_have_text(str(expected["messages"]))
    expect(page.locator(".tile[data-figure='Hand-off rate'] .value")).not_to_have_text("—")
    # The charts hold the same figures as the API: the intent bars and the volume line add up to the window.
    assert chart_sum(page, "chart-intents") == expected["messages"]
    assert chart_sum(page, "chart-volume") == expected["messages"]
    assert chart_sum(page, "chart-volume", 2) == expected["handoffs"]
    labels = page.evaluate("Chart.getChart('chart-intents').data.labels")
    assert set(labels) == set(expected["intent_mix"])
    expect(page.locator("#segments tr").first).to_be_visible()
    expect(page.locator("#segments-note")).to_contain_text("customers in")
    assert page.evaluate("document.getElementById('chart-volume').width") > 0

    page.get_by_role("button", name="Last hour").click()
    expect(page.locator("body[data-loaded='1h']")).to_have_count(1)
    assert chart_sum(page, "chart-intents") == api_summary(base, "1h")["messages"]
    page.get_by_role("button", name="Last 24 hours").click()
    expect(page.locator("body[data-loaded='24h']")).to_have_count(1)
    path = screenshot(page, "dashboard")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's picture; a plain run leaves git clean
        shutil.copyfile(path, ROOT / "docs" / "screenshots" / "dashboard.png")


def test_an_agent_cannot_open_the_dashboard(stack, new_page):
    page = sign_in(new_page(), f"{stack.config.url(stack.config.backend_port)}/admin/dashboard",
                   "alex@northwind.example")  # fmt: skip
    expect(page.locator("#status")).to_contain_text("needs the supervisor role")
