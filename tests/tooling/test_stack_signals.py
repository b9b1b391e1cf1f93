"""How `make run` (scripts/stack.py) takes stop requests: the first one stops the processes gracefully, the
same request delivered twice at once (make passes a SIGTERM it gets on to its child) does not break off that
stop, and a request made again later (a second Ctrl-C) kills what is left."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from scripts import stack
from scripts.paths import ROOT


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


# A script that starts a stack's process (here a sleeper, in a session of its own as every stack process is)
# and then waits, as an evaluation or a benchmark waits on its stack.
STARTS_A_STACK = """
import sys, time
from pathlib import Path
from scripts.stack import Stack, StackConfig
stack = Stack(StackConfig(database_url="sqlite:///unused.db", log_dir=Path(sys.argv[1])))
stack._spawn("sleeper", ["sleep", "300"], cwd=Path(sys.argv[1]))
print(stack.processes["sleeper"].pid, flush=True)
time.sleep(300)
"""


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sigterm_to_any_script_that_started_a_stack_stops_its_processes(tmp_path):
    """`make eval-decisions` stopped by SIGTERM left its backend, Rasa and action server running: the script
    had not asked for the signal to be passed on. Starting a stack's process now does it."""
    script = subprocess.Popen(
        [sys.executable, "-c", STARTS_A_STACK, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        sleeper = int(script.stdout.readline())
        assert _group_alive(sleeper)
        script.send_signal(signal.SIGTERM)
        script.wait(timeout=30)
        deadline = time.monotonic() + 15  # liveness only: the stop's grace period on a loaded machine
        while _group_alive(sleeper) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(sleeper), "the stack's process outlived the script that started it"
    finally:
        script.kill()
        with contextlib.suppress(ProcessLookupError, ValueError, NameError):
            os.killpg(sleeper, signal.SIGKILL)
