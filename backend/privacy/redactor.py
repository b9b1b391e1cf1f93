"""Redaction in a child process at low CPU priority, so it never competes with customers' turns for the GIL.

spaCy holds the GIL for most of its ~6 ms a message (Presidio, which finds the phone numbers, reads the
same spaCy pass: backend/privacy/detectors.py). In a thread of the backend worker, a round of the
privacy loop (every new message of the last interval in one batch) stalled the event loop that serves the
turns for up to a second: every turn then waited for the GIL at each step. In a child process it only
competes for a CPU core, and at niceness 10 the kernel gives the backend, Rasa and the action server the
core first.

One child per backend worker, started on first use with `spawn` (no fork of a process that runs threads);
it exits when its parent dies (a killed worker leaves no orphan behind). A child that died is replaced on
the next call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from backend.core.config import get_settings
from backend.privacy import detectors

PARENT_CHECK_S = 1.0

_executor: ProcessPoolExecutor | None = None
_executor_lock = threading.Lock()


async def redact_many(
    texts: Sequence[str],
    names: bool,
    known_names: Sequence[Iterable[str]] | None = None,
    use_presidio: bool | None = None,
    remember: Sequence[bool] | None = None,
) -> list[str]:
    """`detectors.redact_many` (each PII type from the detector chosen on dev; PII_PRESIDIO unless
    `use_presidio` says) in the child process; a child that died meanwhile is replaced once. `remember`
    marks the texts whose detections the child may keep for later calls (the bot's templates)."""
    presidio = get_settings().pii_presidio if use_presidio is None else use_presidio
    known = None if known_names is None else [list(k) for k in known_names]
    args = (list(texts), names, known, presidio, None if remember is None else list(remember))
    loop = asyncio.get_running_loop()
    pool = _pool()
    try:
        return await loop.run_in_executor(pool, detectors.redact_many, *args)
    except BrokenProcessPool:
        _discard(pool)
    return await loop.run_in_executor(_pool(), detectors.redact_many, *args)


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_init,
                initargs=(os.getpid(), get_settings().pii_child_niceness),
            )
        return _executor


def _discard(pool: ProcessPoolExecutor) -> None:
    global _executor
    with _executor_lock:
        if _executor is pool:
            _executor = None
    pool.shutdown(wait=False, cancel_futures=True)


def _child_init(parent_pid: int, niceness: int) -> None:
    os.nice(niceness)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    # A parent killed with SIGKILL cannot tell its children; re-parenting changes getppid().
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)
