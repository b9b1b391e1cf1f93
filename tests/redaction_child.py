"""The PII redaction child process of the tests' apps, at the test process's own CPU priority.

The product starts its redaction child at niceness 10 (backend/privacy/redactor.py), so that on a busy
server the backend, Rasa and the action server get the CPU first. On a loaded test machine that same rule
starves it: its first use loads spaCy, seconds of CPU that a niceness-10 process may not get for minutes,
and a test waiting for a redacted copy (the privacy worker, a CSAT comment) fails its liveness bound. The
tests check what redaction produces, not how the kernel schedules it, so `tests/app_fixtures.py` installs
this pool before any test uses the redactor. Kept apart from the fixtures: the child imports this module.
"""

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from backend.privacy import redactor


def child_init(parent_pid: int) -> None:
    """The product's child initializer without its `os.nice`: it still exits with its parent."""
    threading.Thread(target=redactor._exit_with_parent, args=(parent_pid,), daemon=True).start()


def install() -> None:
    """Make the redactor use a child started by `child_init` (from its first use on, as the product's)."""
    with redactor._executor_lock:
        if redactor._executor is None:
            redactor._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=child_init,
                initargs=(os.getpid(),),
            )
