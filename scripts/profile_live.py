"""Where a live backend's CPU per turn goes under the steady bench's load, by process and by route.

`scripts.profile_turn` measures a turn in process (REST posts, a scripted bot); `scripts.bench_steady`
measures the backend's whole process group over real sockets but not where it goes. This starts a private
stack as bench_steady does (uvicorn, one worker, SQLite, real Rasa and action server), lets N typing
customers (`scripts.loadgen`, 30% identified shoppers) ramp up, and over each counted window prints, per
acked turn: the CPU of each process of the backend's group (the worker, its redaction child), of the
worker's main thread (the event loop) and of its other threads, and the HTTP requests by route (`/metrics`:
the action server's service-API calls, widget sessions) with their mean wall time. With `--sampled` the
worker runs under `scripts/profile_sampler.py`'s CPU-weighted sampler (which itself costs CPU), reset at the
window's start and written to `<out>/sampler.pkl` at its end ({"own", "inclusive", "total_s"}: seconds).

    python -m scripts.profile_live [--windows 2] [--warmup-s 20] [--measure-s 40] [--seed 7] [--sampled]
        [--out var/bench/profile-live]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from backend.core.config import get_settings
from scripts import loadgen
from scripts.bench import OUT, TYPING_THINK_S, private_stack
from scripts.bench_steady import CONVERSATIONS_PER_CUSTOMER, group_processes, own_cpu_s, stat_fields
from scripts.paths import ROOT

ProcessCpu = dict[int, tuple[str, float]]
Routes = tuple[Counter[str], Counter[str]]
ROUTE_LINE = re.compile(r"supportdesk_http_request_duration_seconds_(count|sum)\{(.*)\} (\S+)")


def process_cpu_s(leader: int) -> ProcessCpu:
    """{pid: (its command line's start, CPU seconds so far)} of each live process in the group."""
    found: ProcessCpu = {}
    for pid, fields in group_processes(leader):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:70].decode()
        except OSError:
            continue
        found[pid] = (command, own_cpu_s(fields))
    return found


def thread_cpu_s(pid: int) -> Counter[str]:
    """CPU seconds so far of the process's main thread ("main") and of all its other threads ("others")."""
    found: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = stat_fields(task / "stat")
        if fields is not None:  # else the thread ended meanwhile
            found["main" if task.name == str(pid) else "others"] += own_cpu_s(fields)
    return found


def routes(backend: str) -> Routes:
    """(requests, seconds) so far by 'METHOD route status', from the backend's request histogram."""
    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    for line in httpx.get(f"{backend}/metrics", timeout=10).text.splitlines():
        match = ROUTE_LINE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2)))
            key = f"{labels.get('method')} {labels.get('route')} {labels.get('status')}"
            (counts if match.group(1) == "count" else seconds)[key] += float(match.group(3))
    return counts, seconds


def sampled_worker(port: int, samples: str) -> None:
    """The backend as scripts/stack.py starts it (one worker, no access log), under the CPU sampler:
    SIGUSR1 empties its counters, SIGUSR2 writes them to the file `samples`."""
    import uvicorn

    from scripts.profile_sampler import Sampler

    sampler = Sampler()

    def reset(_signum: int, _frame: object) -> None:
        sampler.own.clear()
        sampler.inclusive.clear()
        sampler.total_s = 0.0

    def dump(_signum: int, _frame: object) -> None:
        with Path(samples).open("wb") as out:
            counters = {"own": dict(sampler.own), "inclusive": dict(sampler.inclusive)}
            pickle.dump({**counters, "total_s": sampler.total_s}, out)

    signal.signal(signal.SIGUSR1, reset)
    signal.signal(signal.SIGUSR2, dump)
    with sampler:
        uvicorn.run("backend.main:create_app", factory=True, host="127.0.0.1", port=port, access_log=False)


def report(
    turns: int,
    cpu: tuple[ProcessCpu, ProcessCpu],
    threads: tuple[Counter[str], Counter[str]],
    http: tuple[Routes, Routes],
) -> list[str]:
    """Per acked turn over the window: CPU by process and by thread of the worker, requests by route."""
    (p0, p1), (t0, t1), ((c0, s0), (c1, s1)) = cpu, threads, http
    lines: list[str] = []
    group = 0.0
    for pid, (command, seconds) in p1.items():
        spent = seconds - p0.get(pid, (command, 0.0))[1]
        group += spent
        lines.append(f"  process {pid} {command!r}: {spent * 1000 / turns:.2f} ms/turn")
    lines.append(f"  process group: {group * 1000 / turns:.2f} ms/turn")
    lines += [f"  worker {name} thread(s): {(t1[name] - t0[name]) * 1000 / turns:.2f} ms/turn" for name in t1]
    for key in sorted(c1, key=lambda k: c0[k] - c1[k]):
        made = c1[key] - c0[key]
        if made > 0:
            wall = (s1[key] - s0[key]) / made * 1000
            lines.append(f"  {key:<72} {made / turns:.3f} a turn, mean wall {wall:.1f} ms")
    return lines


async def profile(args: argparse.Namespace) -> None:
    out = Path(args.out)
    stack = private_stack("profile-live")
    if args.sampled:
        port, samples = stack.config.backend_port, str((out / "sampler.pkl").resolve())
        launch = f"from scripts.profile_live import sampled_worker; sampled_worker({port}, {samples!r})"
        stack.config.backend_command = [sys.executable, "-c", launch]
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy()
        c = stack.config
        backend, pid = c.url(c.backend_port), stack.processes["backend"].pid
        shoppers = loadgen.shoppers(c.database_url, args.customers)
        await asyncio.sleep(10)
        before = sum(s for _, s in process_cpu_s(pid).values())
        await asyncio.sleep(10)
        idle = sum(s for _, s in process_cpu_s(pid).values()) - before
        print(f"backend group while idle: {idle * 100:.1f} ms of CPU a second", flush=True)
        for window in range(args.windows):
            stop = asyncio.Event()
            load = loadgen.Load(
                backend, args.customers, args.seed + window, TYPING_THINK_S, CONVERSATIONS_PER_CUSTOMER, stop,
                identified_share=0.3, shoppers=shoppers, identity_secret=get_settings().identity_secret,
            )  # fmt: skip
            running = asyncio.create_task(loadgen.run_full_stack(load))
            await asyncio.sleep(args.warmup_s)
            start, load_start = time.monotonic(), os.getloadavg()[0]
            r0, p0, t0 = routes(backend), process_cpu_s(pid), thread_cpu_s(pid)
            if args.sampled:
                os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(args.measure_s)
            end = time.monotonic()
            if args.sampled:
                os.kill(pid, signal.SIGUSR2)
            p1, t1, r1 = process_cpu_s(pid), thread_cpu_s(pid), routes(backend)
            stop.set()
            result = await running
            turns = sum(m.acked_at is not None and start <= m.acked_at < end for m in result.messages)
            print(f"window {window}: {turns} turns acked, load {load_start:.1f}-{os.getloadavg()[0]:.1f}")
            print("\n".join(report(max(turns, 1), (p0, p1), (t0, t1), (r0, r1))), flush=True)
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--windows", type=int, default=2)
    # 20 s: the privacy loop's first round (every 10 s) loads spaCy in the redaction child; not a turn's cost.
    parser.add_argument("--warmup-s", type=float, default=20.0)
    parser.add_argument("--measure-s", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sampled", action="store_true")
    parser.add_argument("--out", default=str(OUT / "profile-live"))
    os.chdir(ROOT)
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    asyncio.run(profile(args))


if __name__ == "__main__":
    main()
