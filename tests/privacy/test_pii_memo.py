"""The redactor keeps what it found in the bot's replies (its templates, met again every round of the privacy
loop) instead of running spaCy on them each round; customers' texts are detected every time, the names the
CRM knows are still applied per message, and the memo holds digests and offsets, never a text."""

import time
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.core.digest_memo import DigestMemo
from backend.privacy import detectors, service
from backend.privacy.redaction import Span
from tests.dbcheck import rows
from tests.privacy.conftest import say, widget_for


@pytest.fixture
def detected(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the detectors run on, with a stand-in detector: 'Dana' is a name wherever it appears."""
    seen: list[str] = []

    def fake(texts: Sequence[str], names: bool, choice: Any) -> list[tuple[list[Span], list[Span]]]:
        seen.extend(texts)
        names_at = [[i for i in range(len(t)) if t.startswith("Dana", i)] for t in texts]
        return [([Span(i, i + 4, "NAME") for i in found], []) for found in names_at]

    monkeypatch.setattr(detectors, "_detect", fake)
    monkeypatch.setattr(detectors, "_memo", DigestMemo(4096))
    return seen


def test_remembered_texts_are_detected_once_across_calls(detected: list[str]) -> None:
    reply, said = "Anything else, Dana? Tell Kim.", "Dana here"
    first = detectors.redact_many([reply, said], known_names=[["Kim Lee"], []], remember=[True, False])
    second = detectors.redact_many([said, reply], known_names=[[], []], remember=[False, True])
    assert first == ["Anything else, [NAME]? Tell [NAME].", "[NAME] here"]
    assert second == ["[NAME] here", "Anything else, [NAME]? Tell Kim."]  # known names: per message
    assert detected == [reply, said, said]  # the reply once, the customer's text each call


def test_nothing_is_remembered_unless_asked(detected: list[str]) -> None:
    for _ in range(2):
        detectors.redact_many(["Anything else, Dana?"])
    assert detected == ["Anything else, Dana?"] * 2
    assert len(detectors._memo) == 0


def test_the_memo_holds_no_text_and_is_bounded(detected: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detectors._memo, "size", 3)
    texts = [f"reply {i} for Dana" for i in range(5)]
    detectors.redact_many(texts, remember=[True] * 5)
    assert 0 < len(detectors._memo) <= 3
    for (scope, key), value in detectors._memo.entries.items():
        assert len(key) == 16 and "Dana" not in repr(scope)
        assert all(isinstance(span, Span) for spans in value for span in spans)


@pytest.fixture
def settings(settings):  # a faster loop than production
    return settings.model_copy(update={"redaction_interval_s": 0.1})


def test_the_privacy_loop_asks_to_remember_the_bots_replies_only(
    client: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, bool]] = []
    redact_many = service.redactor.redact_many

    async def recorded(texts: Sequence[str], *args: Any, **kwargs: Any) -> list[str]:
        asked.extend(zip(texts, kwargs.get("remember") or [False] * len(texts), strict=True))
        return await redact_many(texts, *args, **kwargs)

    monkeypatch.setattr(service.redactor, "redact_many", recorded)
    widget = widget_for(client, "demo@northwind.example")
    say(client, widget, "where is ORD-100001")
    query = "SELECT sender, text, text_redacted FROM messages WHERE conversation_id = :c ORDER BY id"
    deadline = time.monotonic() + 120  # the first round loads spaCy
    while any(r["text_redacted"] is None for r in rows(database_url, query, c=widget["conversation_id"])):
        assert time.monotonic() < deadline, "the worker did not redact the new messages"
        time.sleep(0.1)
    stored = rows(database_url, query, c=widget["conversation_id"])
    flags = dict(asked)
    assert {r["sender"] for r in stored} >= {"customer", "bot"}
    for r in stored:
        assert flags[r["text"]] == (r["sender"] == "bot"), r
