"""Admin pages in headless Chromium: the model registry with metrics and drift."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]
ADMIN, AGENT = "admin@northwind.example", "alex@northwind.example"


def test_admin_sees_model_versions_with_metrics_and_drift(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    page = sign_in(new_page(), f"{base}/admin/models", ADMIN)

    churn = page.locator("#versions tr", has_text="churn").filter(has_text="production")
    expect(churn).to_have_count(1)
    auc = float(churn.locator("td").nth(3).inner_text())
    assert 0.5 < auc <= 1.0
    churn.get_by_role("button", name="Drift").click()
    score_row = page.locator("#drift tr").first
    expect(score_row).to_contain_text("score")
    expect(page.locator("#drift")).to_contain_text("tenure_months")
    # Today's seeded customers against the training distribution: a real index, not "no data".
    assert float(score_row.locator("td").nth(1).inner_text()) >= 0.0
    expect(page.locator("#status")).to_contain_text("customers compared with the training data")
    screenshot(page, "admin-models-drift")


def test_an_agent_cannot_use_the_model_registry(stack, new_page):
    page = sign_in(new_page(), f"{stack.config.url(stack.config.backend_port)}/admin/models", AGENT)
    # Reading the registry is allowed to staff; promoting and rolling back are not.
    production = page.locator("#versions tr", has_text="churn").filter(has_text="production").first
    production.get_by_role("button", name="Roll back").click()
    expect(page.locator("#status")).to_contain_text("needs the admin role")


def test_admin_edits_the_knowledge_base_and_previews_the_bots_answer(stack, new_page):
    base = stack.config.url(stack.config.backend_port)
    page = sign_in(new_page(), f"{base}/admin", ADMIN)

    page.locator("#articles tr", has_text="Shipping times and carriers").click()
    expect(page.locator("#editor-title")).to_have_text("Edit: Shipping times and carriers")
    body = page.get_by_label("Body (Markdown)")
    island = "\n\n## Island deliveries\nParcels to islands take two extra working days.\n"
    body.fill(body.input_value() + island)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_contain_text("Saved")

    page.get_by_label("Customer question").fill("how long does delivery to an island take?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("#results li").first).to_contain_text("two extra working days")
    screenshot(page, "admin-knowledge-preview")
