"""Steady, interleaved load benchmark: the full stack and bare Rasa in alternating blocks, same seeds.

Why interleaved: two identical back-to-back runs on this shared machine once gave full/bare p50 5.01 and
0.60, because the full and the bare run, minutes apart, saw different amounts of CPU steal. Here each run is a
series of short blocks, full and bare alternating in ABBA order (F B B F F B ...) so a slow drift of the
machine falls on both, and block pair k uses one seed for both systems (same customers, texts, think times).

A block: N typing customers (default 50, mean think time 5 s, each holding conversation after conversation)
start; the first `--warmup-s` seconds are ramp-up and not counted; turns *sent* in the next `--measure-s`
seconds are the block's figures; then no new turns start, the ones in flight finish and the block ends.

Columns, each a percentile over the block's counted turns:
  - customer-visible: the customer's own clock, from the first send of a message to its ack (the widget's
    ack goes out with the bot's replies) or, for bare Rasa, to the REST channel's answer;
  - whole turn: the backend's `supportdesk_turn_seconds` histogram (message arrival to the end of the
    hand-off decision, escalation scoring and any hand-off notice), the difference of two `/metrics` scrapes
    around the counted window, interpolated within its buckets (0.1/0.15/0.25 s near the targets), so it is
    coarser than the client's figures and starts at the arrival, not at the customer's send;
  - backend CPU per turn: utime+stime of every process in the backend's process group (the uvicorn worker
    and its redaction child) over the counted window, divided by the turns acked in it.
Per run: the median over blocks of the full/bare p50 ratio with its min-max, the pooled p50/p95 of each
system, and the CPU steal and load average seen during the run (/proc/stat, /proc/loadavg). A share of the
customers (default 30%) are identified shoppers (widget sessions with a seeded customer's email and hash), so
CRM reads and churn scoring run. Bare Rasa has the same retry semantics, and its errors are printed.

Targets at 50 typing customers (issue 20): full-stack p95 <= 150 ms and full/bare p50 <= 1.3 in the steady
run, backend CPU <= 8 ms per turn. Each is printed met / not met from the median over runs; a run on a busy
machine (steal or a load average above the core count) does not establish them, and the report says so.

    python -m scripts.bench_steady [--customers 50] [--runs 3] [--blocks 4] [--warmup-s 10] [--measure-s 30]
        [--json var/bench/steady.json] [--markdown var/bench/steady.md]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from backend.core.config import get_settings
from scripts import loadgen
from scripts.bench import OUT, TYPING_THINK_S, machine, private_stack
from scripts.stack import Stack

TARGET_P95_MS = 150.0
TARGET_RATIO = 1.3
TARGET_CPU_MS = 8.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Customers keep opening conversations until the block stops them; this only bounds a runaway block.
CONVERSATIONS_PER_CUSTOMER = 10_000


# ---- machine counters -------------------------------------------------------------------------------------
def cpu_times() -> list[int]:
    """The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ..."""
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


def steal_share(before: list[int], after: list[int]) -> float:
    """Share of all CPU time in the interval that the hypervisor gave to someone else (steal, field 8)."""
    # guest/guest_nice (fields 9-10) are already counted in user/nice.
    delta = [a - b for a, b in zip(after[:8], before[:8], strict=True)]
    total = sum(delta)
    return delta[7] / total if total else 0.0


def busy_share(before: list[int], after: list[int]) -> float:
    """Share of CPU time not idle (idle and iowait excluded): what everything on the machine used."""
    delta = [a - b for a, b in zip(after[:8], before[:8], strict=True)]
    total = sum(delta)
    return (total - delta[3] - delta[4]) / total if total else 0.0


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def stat_fields(stat: Path) -> list[str] | None:
    """A /proc/<pid>/stat (or task/<tid>/stat) file's fields from field 3 on; None if it has gone."""
    try:
        text = stat.read_text()
    except OSError:
        return None  # exited meanwhile
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return text[text.rindex(")") + 2 :].split()


def own_cpu_s(fields: list[str]) -> float:
    """utime + stime (fields 14-15) of stat_fields, in seconds."""
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def group_processes(leader: int) -> Iterator[tuple[int, list[str]]]:
    """(pid, its stat_fields) of each live process in the group `leader` leads."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(entry / "stat")
        if fields is not None and int(fields[2]) == leader:  # fields[2] is pgrp (field 5)
            yield int(entry.name), fields


def group_cpu_s(leader: int, reaped_children: bool = False) -> float:
    """CPU seconds used so far by the live processes of the group `leader` leads (the backend and its
    children: a process's own utime+stime, fields 14-15 of /proc/<pid>/stat), with `reaped_children` also
    what their waited-for children used (cutime+cstime, fields 16-17)."""
    last = 15 if reaped_children else 13
    ticks = sum(int(v) for _, fields in group_processes(leader) for v in fields[11:last])
    return ticks / CLK_TCK


# ---- /metrics histogram -----------------------------------------------------------------------------------
def scrape_histogram(backend: str, name: str) -> dict[float, float]:
    """Cumulative bucket counts of histogram `name`, summed over its labels: {upper bound: count}."""
    text = httpx.get(f"{backend}/metrics", timeout=10).text
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if not line.startswith(f"{name}_bucket{{"):
            continue
        labels, value = line.rsplit(" ", 1)
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        bound = float("inf") if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + float(value)
    return buckets


def histogram_percentile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The q-th percentile (ms) of the observations between two scrapes, linear within a bucket."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan")
    rank = q / 100 * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000  # beyond the last bucket: its lower edge is all we know
            inside = cumulative - below
            return (lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)) * 1000
        lower, below = bound, cumulative
    return float("nan")


# ---- one block --------------------------------------------------------------------------------------------
@dataclass
class Block:
    system: str  # "full", "bare", or "relay" (scripts/bench_floor.py: the widget's protocol, no backend)
    seed: int
    latencies_ms: list[float] = field(default_factory=list)
    turns_acked: int = 0
    errors: int = 0
    failed_attempts: dict[str, int] = field(default_factory=dict)
    whole_p50_ms: float = float("nan")
    whole_p95_ms: float = float("nan")
    backend_cpu_ms_per_turn: float = float("nan")
    lost: int = 0

    @property
    def p50(self) -> float:
        return loadgen.percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> float:
        return loadgen.percentile(self.latencies_ms, 95)


@dataclass(frozen=True)
class Target:
    backend: str
    rasa: str
    database_url: str
    backend_pid: int | None
    shoppers: tuple[loadgen.Shopper, ...]
    identity_secret: str


def target_of(stack: Stack, customers: int) -> Target:
    """A started private stack as the load's target, with `customers` seeded shoppers to sign in as."""
    c = stack.config
    return Target(
        backend=c.url(c.backend_port),
        rasa=c.url(c.rasa_port),
        database_url=c.database_url,
        backend_pid=stack.processes["backend"].pid,
        shoppers=loadgen.shoppers(c.database_url, customers),
        identity_secret=get_settings().identity_secret,
    )


async def run_block(system: str, seed: int, target: Target, args: argparse.Namespace) -> Block:
    """One block of `system` against `target`: bare Rasa on `target.rasa`, the others through the widget's
    protocol on `target.backend`, whose process group's CPU is counted; the whole-turn histogram and the
    stored rows are the full stack's only."""
    stop = asyncio.Event()
    load = loadgen.Load(
        target.backend, args.customers, seed, args.think_s, CONVERSATIONS_PER_CUSTOMER, stop,
        identified_share=args.identified_share, shoppers=target.shoppers,
        identity_secret=target.identity_secret,
    )  # fmt: skip
    running = asyncio.create_task(
        loadgen.run_bare_rasa(target.rasa, load) if system == "bare" else loadgen.run_full_stack(load)
    )
    await asyncio.sleep(args.warmup_s)
    window_start = time.monotonic()
    histogram_before = (
        await asyncio.to_thread(scrape_histogram, target.backend, "supportdesk_turn_seconds")
        if system == "full"
        else {}
    )
    cpu_before = group_cpu_s(target.backend_pid) if target.backend_pid else 0.0
    await asyncio.sleep(args.measure_s)
    window_end = time.monotonic()
    cpu_after = group_cpu_s(target.backend_pid) if target.backend_pid else 0.0
    stop.set()
    result = await running
    block = Block(system, seed)
    counted = [m for m in result.messages if window_start <= m.first_sent < window_end]
    block.latencies_ms = [(m.acked_at - m.first_sent) * 1000 for m in counted if m.acked_at is not None]
    block.errors = sum(m.acked_at is None for m in counted)
    block.turns_acked = sum(
        m.acked_at is not None and window_start <= m.acked_at < window_end for m in result.messages
    )
    block.failed_attempts = dict(result.attempt_errors)
    if system != "bare" and target.backend_pid and block.turns_acked:
        block.backend_cpu_ms_per_turn = (cpu_after - cpu_before) * 1000 / block.turns_acked
    if system == "full":
        # Every turn counted has ended by now (its lock held until the decision), so the second scrape holds
        # them all; it also holds the few turns sent after the window that finished before the stop.
        after = await asyncio.to_thread(scrape_histogram, target.backend, "supportdesk_turn_seconds")
        block.whole_p50_ms = histogram_percentile(histogram_before, after, 50)
        block.whole_p95_ms = histogram_percentile(histogram_before, after, 95)
        rows = await asyncio.to_thread(loadgen.stored_rows, target.database_url, result.conversations)
        block.lost = loadgen.account(result.messages, rows)["lost"]
    return block


def block_line(index: int, b: Block) -> str:
    line = (
        f"  block {index:>2} {b.system:<4} seed {b.seed:<5} turns {len(b.latencies_ms):>4} "
        f"p50 {b.p50:7.1f} p95 {b.p95:7.1f} ms errors {b.errors}"
    )
    if b.failed_attempts:
        line += f" failed attempts {b.failed_attempts}"
    if b.system == "full":
        line += (
            f" | whole turn p50 {b.whole_p50_ms:6.1f} p95 {b.whole_p95_ms:6.1f} ms"
            f" | backend CPU {b.backend_cpu_ms_per_turn:5.1f} ms/turn | lost {b.lost}"
        )
    return line


# ---- one run ----------------------------------------------------------------------------------------------
def abba(blocks_per_system: int) -> list[str]:
    """F B B F F B B F ...: each system goes first in half of the pairs."""
    order: list[str] = []
    for pair in range(blocks_per_system):
        order += ["full", "bare"] if pair % 2 == 0 else ["bare", "full"]
    return order


async def run_once(run: int, target: Target, args: argparse.Namespace) -> dict[str, Any]:
    cpu_start, load_start, started = cpu_times(), load_average(), time.monotonic()
    blocks: list[Block] = []
    for index, system in enumerate(abba(args.blocks)):
        seed = args.seed + 1000 * run + index // 2  # block pair k: one seed for both systems
        block_cpu = cpu_times()
        block = await run_block(system, seed, target, args)
        blocks.append(block)
        print(f"{block_line(index, block)} | steal {steal_share(block_cpu, cpu_times()):.0%}", flush=True)
    cpu_end = cpu_times()
    full = [b for b in blocks if b.system == "full"]
    bare = [b for b in blocks if b.system == "bare"]
    by_seed = {b.seed: b for b in bare}
    ratios = [f.p50 / by_seed[f.seed].p50 for f in full if by_seed[f.seed].latencies_ms and f.latencies_ms]
    pooled_full = [x for b in full for x in b.latencies_ms]
    pooled_bare = [x for b in bare for x in b.latencies_ms]
    return {
        "run": run,
        "wall_s": round(time.monotonic() - started, 1),
        "steal": round(steal_share(cpu_start, cpu_end), 3),
        "busy": round(busy_share(cpu_start, cpu_end), 3),
        "load_average": [load_start, load_average()],
        "full_turns": len(pooled_full),
        "bare_turns": len(pooled_bare),
        "full_p50_ms": round(loadgen.percentile(pooled_full, 50), 1),
        "full_p95_ms": round(loadgen.percentile(pooled_full, 95), 1),
        "bare_p50_ms": round(loadgen.percentile(pooled_bare, 50), 1),
        "bare_p95_ms": round(loadgen.percentile(pooled_bare, 95), 1),
        "ratio_median": round(statistics.median(ratios), 2) if ratios else float("nan"),
        "ratio_min": round(min(ratios), 2) if ratios else float("nan"),
        "ratio_max": round(max(ratios), 2) if ratios else float("nan"),
        "whole_p50_ms": round(statistics.median(b.whole_p50_ms for b in full), 1),
        "whole_p95_ms": round(statistics.median(b.whole_p95_ms for b in full), 1),
        "backend_cpu_ms_per_turn": round(statistics.median(b.backend_cpu_ms_per_turn for b in full), 1),
        "full_errors": sum(b.errors for b in full),
        "bare_errors": sum(b.errors for b in bare),
        "bare_failed_attempts": sum(sum(b.failed_attempts.values()) for b in bare),
        "full_failed_attempts": sum(sum(b.failed_attempts.values()) for b in full),
        "lost": sum(b.lost for b in full),
        "blocks": [
            {
                "system": b.system,
                "seed": b.seed,
                "turns": len(b.latencies_ms),
                "p50_ms": round(b.p50, 1),
                "p95_ms": round(b.p95, 1),
                "errors": b.errors,
                "failed_attempts": b.failed_attempts,
                "whole_p50_ms": round(b.whole_p50_ms, 1),
                "whole_p95_ms": round(b.whole_p95_ms, 1),
                "backend_cpu_ms_per_turn": round(b.backend_cpu_ms_per_turn, 1),
                "lost": b.lost,
            }
            for b in blocks
        ],
    }


# ---- report -----------------------------------------------------------------------------------------------
HEADER = (
    "| run | full turns | bare turns | full p50 ms | full p95 ms | whole-turn p50 ms | whole-turn p95 ms "
    "| bare p50 ms | bare p95 ms | full/bare p50, median of blocks (min-max) | backend CPU ms/turn "
    "| errors full / bare (failed attempts) | lost | CPU steal | machine busy | load average start-end |"
)


def table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for r in runs:
        lines.append(
            f"| {r['run']} | {r['full_turns']} | {r['bare_turns']} | {r['full_p50_ms']} | {r['full_p95_ms']} "
            f"| {r['whole_p50_ms']} | {r['whole_p95_ms']} | {r['bare_p50_ms']} | {r['bare_p95_ms']} "
            f"| {r['ratio_median']} ({r['ratio_min']}-{r['ratio_max']}) | {r['backend_cpu_ms_per_turn']} "
            f"| {r['full_errors']} / {r['bare_errors']} ({r['full_failed_attempts']} / "
            f"{r['bare_failed_attempts']}) | {r['lost']} | {r['steal']:.0%} | {r['busy']:.0%} "
            f"| {r['load_average'][0]:.1f}-{r['load_average'][1]:.1f} |"
        )
    return lines


def verdicts(runs: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    p95 = statistics.median(r["full_p95_ms"] for r in runs)
    ratio = statistics.median(r["ratio_median"] for r in runs)
    cpu = statistics.median(r["backend_cpu_ms_per_turn"] for r in runs)
    steal = max(r["steal"] for r in runs)
    load = max(max(r["load_average"]) for r in runs)
    turns = sum(r["full_turns"] for r in runs)
    busy = steal > 0.02 or load > (os.cpu_count() or 1)
    short = turns < 1000
    caveat = []
    if busy:
        caveat.append(f"the machine was busy (CPU steal up to {steal:.0%}, load average up to {load:.1f})")
    if short:
        caveat.append(f"only {turns} full-stack turns were counted (< 1,000)")
    if args.customers != 50:
        caveat.append(f"the load was {args.customers} customers, not the target's 50")

    def verdict(ok: bool) -> str:
        return ("met" if ok else "NOT met") + (
            " (not established: " + "; ".join(caveat) + ")" if caveat else ""
        )

    return [
        f"- full-stack p95 <= {TARGET_P95_MS:.0f} ms: {p95:.1f} ms (median over runs): "
        f"{verdict(p95 <= TARGET_P95_MS)}",
        f"- full/bare p50 <= {TARGET_RATIO}: {ratio} (median over runs of the median over blocks): "
        f"{verdict(ratio <= TARGET_RATIO)}",
        f"- backend CPU <= {TARGET_CPU_MS:.0f} ms per turn: {cpu} ms (median over runs): "
        f"{verdict(cpu <= TARGET_CPU_MS)}",
    ]


def markdown(runs: list[dict[str, Any]], args: argparse.Namespace, stamp: str) -> str:
    per_system = sum(r["full_turns"] for r in runs)
    return "\n".join(
        [
            f"Measured {stamp} by `python -m scripts.bench_steady --customers {args.customers} "
            f"--runs {args.runs} --blocks {args.blocks} --warmup-s {args.warmup_s:g} "
            f"--measure-s {args.measure_s:g}` on {machine()}; "
            f"{args.customers} typing customers (think time {args.think_s:g} s), "
            f"{args.identified_share:.0%} identified shoppers, {per_system} full-stack turns counted in all; "
            f"the backend used {args.backend_idle_cpu_ms_per_s} ms of CPU per second while idle before the "
            "runs (its background loops), which its CPU per turn includes.",
            "",
            *table(runs),
            "",
            *verdicts(runs, args),
        ]
    )


async def bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    stack = private_stack("steady-stack")
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy()
        target = target_of(stack, args.customers)
        # The backend's start-up work (knowledge index, model loads) must not land in the first block's CPU;
        # its CPU while idle afterwards (background loops) is printed so a reader can set it apart.
        await asyncio.sleep(args.settle_s / 2)
        idle_before = group_cpu_s(target.backend_pid) if target.backend_pid else 0.0
        await asyncio.sleep(args.settle_s / 2)
        idle_ms_per_s = (group_cpu_s(target.backend_pid) - idle_before) * 1000 / (args.settle_s / 2 or 1)
        print(f"backend CPU while idle: {idle_ms_per_s:.1f} ms per second", flush=True)
        args.backend_idle_cpu_ms_per_s = round(idle_ms_per_s, 1)
        runs = []
        for run in range(1, args.runs + 1):
            print(f"-- run {run}/{args.runs}: {args.customers} typing customers, ABBA blocks", flush=True)
            result = await run_once(run, target, args)
            runs.append(result)
            print("\n".join(table([result])[2:]), flush=True)
        return runs
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=4, help="blocks per system per run")
    parser.add_argument("--warmup-s", type=float, default=10.0, help="ramp-up per block, not counted")
    parser.add_argument("--measure-s", type=float, default=30.0, help="counted part of each block")
    parser.add_argument("--think-s", type=float, default=TYPING_THINK_S)
    parser.add_argument("--settle-s", type=float, default=20.0, help="idle wait after start-up, not counted")
    parser.add_argument("--identified-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, default=OUT / "steady.json")
    parser.add_argument("--markdown", type=Path, default=OUT / "steady.md")
    args = parser.parse_args()
    if min(args.customers, args.runs, args.blocks) < 1 or args.measure_s <= 0 or args.warmup_s < 0:
        parser.error("--customers, --runs, --blocks >= 1; --measure-s > 0; --warmup-s >= 0")
    OUT.mkdir(parents=True, exist_ok=True)
    runs = asyncio.run(bench(args))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = markdown(runs, args, stamp)
    print("\n" + report, flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    settings = vars(args) | {"json": str(args.json), "markdown": str(args.markdown)}
    args.json.write_text(json.dumps({"args": settings, "measured": stamp, "runs": runs}, indent=2))
    args.markdown.write_text(report + "\n")
    return 1 if any(r["lost"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
