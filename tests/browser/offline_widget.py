"""The widget in Chromium without the stack: widget.js, its CSS and the Markdown renderer it loads
(markdown.js) served from the repository under a made-up backend origin, on a made-up shop page (one script
tag, as a host site embeds it), with a saved session for conversation 7 and the API answers a test gives by
path (anything else is a 404). For what the widget draws, not what the backend does."""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route

STATIC = Path(__file__).resolve().parents[2] / "backend" / "web" / "static"
BACKEND = "http://support.test"
SHOP = "http://shop.test"
HOST_PAGE = f'<!doctype html><title>shop</title><script src="{BACKEND}/static/widget.js" defer></script>'
CONVERSATION_API = "/api/v1/widget/conversations/7"


def backend(answers: Mapping[str, Any]) -> Callable[[Route], None]:
    """The made-up backend: the widget's static files, and `answers[path]` as JSON (read at each request, so a
    test may change an answer between requests)."""

    def handle(route: Route) -> None:
        path = route.request.url.removeprefix(BACKEND).split("?")[0]
        if path in ("/static/widget.js", "/static/widget.css", "/static/markdown.js"):
            kind = "javascript" if path.endswith(".js") else "css"
            body = (STATIC / path.rsplit("/", 1)[1]).read_text()
            route.fulfill(body=body, content_type=f"text/{kind}; charset=utf-8")
        elif path in answers:
            route.fulfill(body=json.dumps(answers[path]), content_type="application/json")
        else:
            route.fulfill(status=404, body="{}", content_type="application/json")

    return handle


def open_on_shop(page: Page, answers: Mapping[str, Any]) -> None:
    """The shop page with the widget resuming conversation 7, opened."""
    page.route(f"{BACKEND}/**", backend(answers))
    page.route(f"{SHOP}/", lambda r: r.fulfill(body=HOST_PAGE, content_type="text/html; charset=utf-8"))
    session = json.dumps({"conversation_id": 7, "token": "t", "expires_at": "2099-01-01T00:00:00Z"})
    page.add_init_script(f"localStorage.setItem('supportdesk:{BACKEND}', {json.dumps(session)})")
    page.goto(f"{SHOP}/")
    page.get_by_role("button", name="Open chat").click()
