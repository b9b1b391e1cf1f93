"""The background loops of a backend worker, all started, stopped and reported the same way.

Why (issue 20): every service used to own a hand-written `while True` task, and the case dispatcher slept in
`asyncio.wait_for(event.wait(), interval)`. On Python 3.11 `wait_for` returns the inner result instead of
raising when its task is cancelled in the same loop iteration that the inner awaitable completes (CPython
gh-86296, fixed by the 3.12 rewrite of `wait_for`). A `poke()` landing together with `stop()`'s `cancel()`
lost the cancellation, the loop went on, `stop()` awaited it forever, and so did the app's lifespan
shutdown: nothing after it (the other loops, the database) was ever stopped.

- `Periodic` runs a `tick` every `interval_s`, or at once when its `wake` event is set. It waits with
  `asyncio.timeout()` around `Event.wait()` itself, so no inner task can complete under a cancellation, and
  before and after each round it checks `Task.cancelling()`: a cancellation that library code in a tick
  caught anyway still ends the loop. A tick that raises is logged and the next round tries again.
- `Background` runs any other long-lived coroutine (a queue drain, a reconnecting consumer) with the same
  start / stop / health; such a loop calls `raise_if_cancelling()` once per iteration.
- `stop(deadline_s)` cancels and waits at most `deadline_s`. A task still running then is logged by name and
  left behind: a shutdown never waits forever for one loop.
- `shutdown(steps, deadline_s)` runs the lifespan's clean-up steps in order under one overall deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from backend.core.metrics import BACKGROUND_TASK_FAILURES, BACKGROUND_TASK_RUNNING

log = logging.getLogger(__name__)

# How long a loop may take to end once cancelled. Cancellation lands at the loop's next await, so only a
# loop stuck in something that ignores it (a lost cancellation, a shielded call) comes near this.
STOP_DEADLINE_S = 3.0
# What every clean-up step gets even after an earlier one used up the overall deadline: closing the
# database and the sockets is still worth a try.
STEP_FLOOR_S = 0.5


def raise_if_cancelling() -> None:
    """Raise CancelledError if the current task was asked to stop and something swallowed the request.

    `Task.cancel()` counts requests that nobody took back with `uncancel()` (which `asyncio.timeout()` does
    for its own); a non-zero count after an `await` returned normally means the cancellation was lost.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@dataclass(frozen=True)
class Health:
    name: str
    running: bool
    rounds: int
    failures: int
    last_error: str | None


class Background:
    """One named, long-lived task of this worker, with start / stop / health."""

    def __init__(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"background task {self.name!r} is already running")
        self._task = asyncio.create_task(self._run(), name=self.name)
        self._task.add_done_callback(self._ended)
        BACKGROUND_TASK_RUNNING.labels(self.name).set(1)

    async def stop(self, deadline_s: float = STOP_DEADLINE_S) -> bool:
        """Cancel the task and wait at most `deadline_s`; False (and an error logged) if it still runs."""
        task = self._task
        if task is None or task.done():
            return True
        task.cancel()
        # A plain wait with a timeout: it neither wraps the task nor cancels it again, and returns in time
        # whatever the task does with its cancellation.
        await asyncio.wait({task}, timeout=deadline_s)
        if task.done():
            return True
        log.error(
            "background task %r did not stop within %s s of being cancelled; going on without it",
            self.name,
            deadline_s,
        )
        return False

    def health(self) -> Health:
        return Health(self.name, self.running, self.rounds, self.failures, self.last_error)

    def _ended(self, task: asyncio.Task[None]) -> None:
        BACKGROUND_TASK_RUNNING.labels(self.name).set(0)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:  # a bug: the loops catch what they expect
            self.failures += 1
            BACKGROUND_TASK_FAILURES.labels(self.name).inc()
            self.last_error = repr(exc)
            log.error("background task %r crashed", self.name, exc_info=exc)


class Periodic(Background):
    """Runs `tick` every `interval_s` seconds, or at once when `wake` is set; a failed round is retried.

    The wake event is cleared before the round runs, so a wake during a round starts another one after it.
    """

    def __init__(
        self,
        name: str,
        tick: Callable[[], Awaitable[object]],
        interval_s: float,
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        super().__init__(name, self._loop)
        self._tick = tick
        self.interval_s = interval_s
        self._wake = wake

    async def _loop(self) -> None:
        while True:
            await self._pause()
            raise_if_cancelling()
            try:
                await self._tick()
            except Exception as exc:  # the loop must survive a failed round (e.g. a database restart)
                raise_if_cancelling()  # unless it failed because it was cancelled: then it is not a failure
                self.failures += 1
                BACKGROUND_TASK_FAILURES.labels(self.name).inc()
                self.last_error = repr(exc)
                log.exception("%s: round failed; retrying next round", self.name)
            self.rounds += 1
            raise_if_cancelling()

    async def _pause(self) -> None:
        if self._wake is None:
            await asyncio.sleep(self.interval_s)
            return
        try:
            async with asyncio.timeout(self.interval_s):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()


async def stop_all(loops: Sequence[Background], deadline_s: float = STOP_DEADLINE_S) -> bool:
    """Stop several loops at once, each within `deadline_s`; False if any was left running."""
    results = await asyncio.gather(*(loop.stop(deadline_s) for loop in loops))
    return all(results)


Step = tuple[str, Callable[[], Awaitable[object]]]


async def shutdown(steps: Sequence[Step], deadline_s: float) -> list[str]:
    """Run clean-up steps in order within `deadline_s` overall; return the names of those that failed or
    overran. A step that overruns is cancelled and logged by name, and the next one runs anyway."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    failed: list[str] = []
    for name, step in steps:
        task = asyncio.create_task(_call(step), name=f"shutdown: {name}")
        budget = max(end - loop.time(), STEP_FLOOR_S)
        try:
            await asyncio.wait({task}, timeout=budget)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            where = await_chain(task)  # before the cancel unwinds it: what an operator needs to see
            task.cancel()
            log.error("shutdown: %s did not finish within %.1f s; going on without it; it was at:\n%s",
                      name, budget, where)  # fmt: skip
            failed.append(name)
        elif task.cancelled() or task.exception() is not None:
            exc = None if task.cancelled() else task.exception()
            log.error("shutdown: %s failed", name, exc_info=exc)
            failed.append(name)
    return failed


async def _call(step: Callable[[], Awaitable[object]]) -> None:
    await step()


def await_chain(task: asyncio.Task[Any]) -> str:
    """The chain of awaits the task is suspended in, outermost first (Task.print_stack shows only the
    outermost frame of a suspended coroutine)."""
    lines: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(lines) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return "\n".join(lines) or f"  {awaited!r}"
