"""A quick reply the customer clicks reads as its title in their own bubble and in the stored transcript (what
the agent inbox shows), while Rasa still gets the button's payload (issue 14). Headless Chromium against the
real backend, Rasa and actions."""

import pytest
from playwright.sync_api import expect

from contract.service_api import HANDOFF_MESSAGE
from tests.browser.test_widget_journeys import conversation_id, open_chat, say
from tests.dbcheck import rows

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("stack", ["sqlite"], indirect=True)]


def test_a_clicked_quick_reply_reads_as_its_title_and_is_understood_as_its_payload(stack, new_page):
    page = new_page()
    open_chat(page, stack.config.url(stack.config.backend_port))
    say(page, "how long is the warranty on the tent?")
    expect(page.locator(".sd-bot").last).to_be_visible(timeout=30_000)
    say(page, "that didn't help")
    no_thanks = page.locator(".sd-quick", has_text="No, thanks").last
    expect(no_thanks).to_be_visible(timeout=30_000)
    no_thanks.click()

    expect(page.locator(".sd-customer").last).to_have_text("No, thanks", timeout=30_000)
    # "No" to the offer after "that didn't help" asks to rephrase (bot/data/rules.yml): /deny reached Rasa.
    expect(page.locator(".sd-bot").last).to_contain_text("Let's try once more", timeout=30_000)
    expect(page.locator(".sd-messages")).not_to_contain_text("/deny")
    expect(page.locator(".sd-messages")).not_to_contain_text(HANDOFF_MESSAGE)

    [clicked] = rows(
        stack.config.database_url,
        "SELECT text, intent, intent_confidence FROM messages "
        "WHERE conversation_id = :c AND sender = 'customer' ORDER BY id DESC LIMIT 1",
        c=conversation_id(page),
    )
    # The payload, not the words, was parsed: Rasa gives a "/intent" message its intent with confidence 1.
    assert clicked == {"text": "No, thanks", "intent": "deny", "intent_confidence": 1.0}
