"""The backend as the actions see it, scripted at the HTTP boundary by route (GET the order, POST the
person-offer check); the `backend` fixture of tests/bot/conftest.py gives a test one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from actions import backend_client
from contract.service_api import HANDOFF_MESSAGE

HANDED_OVER = {"handed_over": True, "case_id": 7, "message": HANDOFF_MESSAGE}
LEFT_TO_THE_BOT = {"handed_over": False, "case_id": None, "message": None}


class Backend:
    """The backend's answers by route: the order (JSON, or None for 404) and the person-offer check (None:
    the backend is down). `calls` lists the paths asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.order: dict[str, Any] | None = None
        self.offer: dict[str, Any] | None = LEFT_TO_THE_BOT
        self.calls: list[str] = []
        transport = httpx.MockTransport(self._respond)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)

    def _respond(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        if request.url.path.endswith("/person-offer"):
            json.loads(request.content)  # a PersonOfferRequest body
            return httpx.Response(200, json=self.offer) if self.offer else httpx.Response(503, text="down")
        if self.order is None:
            return httpx.Response(404, json={"detail": "no such order"})
        return httpx.Response(200, json=self.order)
