"""A sampling profiler weighted by CPU time, for asyncio code: where a process's CPU goes, thread by thread.

cProfile counts every resumption of a coroutine as a call, and only sees the thread it was enabled in
(not aiosqlite's connection threads or the executors). This charges each sampled Python stack with the CPU
time its thread used since that thread's previous sample, so a function's share is CPU, not wall time, and
idle waits weigh nothing:

- the main thread (the event loop) is sampled by a SIGPROF handler (`setitimer(ITIMER_PROF)`), which runs
  in that thread between bytecodes: a sampler thread would only get the GIL when the loop releases it,
  mostly in `select()`, and charge the loop's work there;
- every other thread (aiosqlite's connections, executors) by a sampler thread, which reads its stack when
  it has released the GIL, typically inside SQLite or torch: where its CPU goes.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType

from scripts.paths import ROOT


def label(code: CodeType) -> str:
    """file:line(function), the file relative to the repository or to site-packages."""
    path = code.co_filename
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(str(ROOT)):
        path = str(Path(path).relative_to(ROOT))
    else:
        path = Path(path).name
    return f"{path}:{code.co_firstlineno}({code.co_name})"


class Sampler:
    def __init__(self, interval_s: float = 0.001) -> None:
        self.interval_s = interval_s
        self.own: Counter[str] = Counter()  # CPU seconds with the function at the top of the stack
        self.inclusive: Counter[str] = Counter()  # CPU seconds with the function anywhere on the stack
        self.total_s = 0.0
        self._clocks: dict[int, tuple[int, float | None]] = {}  # thread id -> (its CPU clock, last reading)
        self._main: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._main = threading.main_thread().ident
        signal.signal(signal.SIGPROF, self._on_tick)
        signal.setitimer(signal.ITIMER_PROF, self.interval_s, self.interval_s)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        self._stop.set()
        self._thread.join()

    def _on_tick(self, _signum: int, frame: FrameType | None) -> None:
        if frame is not None and self._main is not None:
            self._charge(self._main, frame)

    def _run(self) -> None:
        skip = {threading.get_ident(), self._main}
        while not self._stop.wait(self.interval_s):
            for thread_id, frame in sys._current_frames().items():
                if thread_id not in skip:
                    self._charge(thread_id, frame)

    def _charge(self, thread_id: int, frame: FrameType) -> None:
        spent = self._cpu_since_last(thread_id)
        if spent <= 0:
            return
        labels: list[str] = []
        current: FrameType | None = frame
        while current is not None:
            labels.append(label(current.f_code))
            current = current.f_back
        self.own[labels[0]] += spent
        for name in set(labels):
            self.inclusive[name] += spent
        self.total_s += spent

    def _cpu_since_last(self, thread_id: int) -> float:
        try:
            clock, last = self._clocks.get(thread_id) or (time.pthread_getcpuclockid(thread_id), None)
            now = time.clock_gettime(clock)
        except (OSError, ProcessLookupError):  # the thread ended between listing and reading
            return 0.0
        self._clocks[thread_id] = (clock, now)
        return 0.0 if last is None else now - last

    def report(self, top: int, per: int, project: tuple[str, ...]) -> str:
        """The top entries by inclusive CPU, by own CPU, and the project's own functions (`project`: path
        prefixes) by inclusive CPU, in ms per `per` (turns)."""
        ours = Counter({name: s for name, s in self.inclusive.items() if name.startswith(project)})
        lines = [f"sampled CPU: {self.total_s * 1000 / per:.2f} ms per turn (all threads)"]
        for title, counter in (
            ("inclusive (cumulative)", self.inclusive),
            ("own", self.own),
            (f"inclusive, {', '.join(project)} only", ours),
        ):
            lines.append(f"\ntop {top} by {title} CPU, ms per turn:")
            lines += [f"{seconds * 1000 / per:8.3f}  {name}" for name, seconds in counter.most_common(top)]
        return "\n".join(lines)
