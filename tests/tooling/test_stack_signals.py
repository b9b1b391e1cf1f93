"""How `make run` (scripts/stack.py) takes stop requests: the first one stops the processes gracefully, the
same request delivered twice at once (make passes a SIGTERM it gets on to its child) does not break off that
stop, and a request made again later (a second Ctrl-C) kills what is left."""

import signal

import pytest

from scripts import stack


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(stack, "_groups", {101: None, 202: None})
    monkeypatch.setattr(stack, "_first_signal_at", None)
    monkeypatch.setattr(stack, "_killpg", lambda pid, sig: calls.append((pid, sig)))
    return calls


def test_the_first_request_stops_gracefully_and_a_duplicate_is_the_same_request(sent, monkeypatch):
    clock = iter([100.0, 100.3])
    monkeypatch.setattr(stack.time, "monotonic", lambda: next(clock))
    with pytest.raises(KeyboardInterrupt):
        stack._on_signal(signal.SIGTERM, None)
    stack._on_signal(signal.SIGTERM, None)  # make's copy of the same SIGTERM: no exception, no SIGKILL
    assert sent == [(101, signal.SIGTERM), (202, signal.SIGTERM)]


def test_a_request_made_again_later_kills_what_is_left(sent, monkeypatch):
    clock = iter([100.0, 100.0 + stack.SAME_REQUEST_S + 1])
    monkeypatch.setattr(stack.time, "monotonic", lambda: next(clock))
    with pytest.raises(KeyboardInterrupt):
        stack._on_signal(signal.SIGINT, None)
    stack._on_signal(signal.SIGINT, None)
    assert sent[2:] == [(101, signal.SIGKILL), (202, signal.SIGKILL)]
