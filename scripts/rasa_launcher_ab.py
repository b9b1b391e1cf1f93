"""A/B of the two ways of starting Rasa on one model: its CPU per turn through the hub channel.

    python -m scripts.rasa_launcher_ab [--order ABBABAAB] [--turns 300] [--warmup 40]

A = bot/rasa_run.py (`python -m rasa_run`, the token from RASA_TOKEN: how every stack starts Rasa now);
B = the `rasa run` console script with `--auth-token` on its command line (how stacks started it before
2bae4bf). Both get the same model, options, environment and working directory (scripts/stack.py's), on one
private stack whose backend and action server stay up throughout (the actions call the backend).

Each arm: Rasa started, warm-up turns, then a fixed sequence of turns sent one at a time to the hub webhook as
the backend sends them (Bearer token, X-Request-ID, the same metadata), on fresh widget conversations that
follow the load generator's scripts in a fixed order. Measured: the CPU time (utime+stime, reaped children
included) of every process in Rasa's process group over the measured turns, per turn, which the machine's
other load blurs much less than wall time; the turns' latency p50/p95 as secondary figures; and what each
process set up (threads, RSS, the thread-related environment, bytes logged per turn). Ratios are B/A per
adjacent pair of arms; the median over pairs is the figure.

Each arm holds /tmp/supportdesk-bench.lock (flock) while Rasa starts and is measured, and releases it between
arms; other benchmark runs stay apart from it only when started as `flock /tmp/supportdesk-bench.lock ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.bench import private_stack
from scripts.bench_steady import group_cpu_s, group_processes
from scripts.loadgen import SCRIPTS
from scripts.paths import BOT_BIN, ROOT
from scripts.stack import Stack, _ok, stop_groups, stop_on_signals

LOCK = Path("/tmp/supportdesk-bench.lock")
WEBHOOK = "/webhooks/hub/webhook"
# Environment variables that set thread pools or logging in Rasa's libraries.
ENV_PREFIXES = ("OMP_", "ONNX", "MKL_", "OPENBLAS_", "TF_", "SANIC", "LOG", "SUPPORTDESK_ENCODER", "PYTHON")


@contextlib.contextmanager
def bench_lock() -> Iterator[None]:
    with LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rasa_command(stack: Stack, arm: str) -> list[str]:
    """The stack's own command (A), or the same options through the console script with the token (B)."""
    command = stack._rasa_command()
    if arm == "A":
        return command
    options = command[3:]  # after: python -m rasa_run
    return [str(BOT_BIN / "rasa"), "run", *options, f"--auth-token={stack.config.rasa_token}"]


# ------------------------------------------------------------------------------------------ process facts


def process_facts(pid: int) -> dict[str, Any]:
    """Threads (and their names), resident memory and the thread/log environment of one process."""
    tasks = list(Path(f"/proc/{pid}/task").iterdir())
    names: dict[str, int] = {}
    for task in tasks:
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            names[name] = names.get(name, 0) + 1
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")), "?")
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = sorted(
        item.decode(errors="replace")
        for item in environ
        if item and item.decode(errors="replace").startswith(ENV_PREFIXES)
    )
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return {"threads": len(tasks), "names": names, "rss_kb": rss, "env": env, "argv0": argv[:3]}


# ------------------------------------------------------------------------------------------ turns


@dataclass
class Arm:
    arm: str
    turns: int
    cpu_ms_per_turn: float
    p50_ms: float
    p95_ms: float
    log_bytes_per_turn: float
    facts: dict[str, Any]
    errors: int


def fixed_sequence(http: httpx.Client, backend: str, turns: int) -> list[tuple[str, str]]:
    """(conversation id, text) for `turns` turns: new widget conversations, SCRIPTS in order."""
    sequence: list[tuple[str, str]] = []
    index = 0
    while len(sequence) < turns:
        session = http.post(f"{backend}/api/v1/widget/sessions", json={})
        session.raise_for_status()
        conversation = session.json()["conversation_id"]
        sequence.extend((conversation, line) for line in SCRIPTS[index % len(SCRIPTS)])
        index += 1
    return sequence[:turns]


def send_turns(rasa: httpx.Client, sequence: list[tuple[str, str]]) -> tuple[list[float], int]:
    """Each turn as the backend sends it (backend/conversations/rasa_client.py); latencies ms, errors."""
    latencies, errors = [], 0
    for number, (conversation, text) in enumerate(sequence):
        body = {"sender": conversation, "message": text, "message_id": str(number + 1),
                "metadata": {"customer_id": None, "channel": "web"}}  # fmt: skip
        started = time.perf_counter()
        response = rasa.post(WEBHOOK, json=body, headers={"X-Request-ID": uuid.uuid4().hex})
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or not response.json().get("messages"):
            errors += 1
    return latencies, errors


def wait_for_rasa(stack: Stack, timeout_s: float = 300) -> None:
    url = stack.config.rasa_status_url(stack.config.rasa_port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack._fail_if_exited("rasa")
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(url, timeout=2)
            if response.status_code == 200 and response.json().get("model_file"):
                return
        time.sleep(0.5)
    raise TimeoutError("Rasa not ready")


def run_arm(stack: Stack, arm: str, args: argparse.Namespace) -> Arm:
    c = stack.config
    backend = c.url(c.backend_port)
    headers = {"Authorization": f"Bearer {c.rasa_token}"}
    with httpx.Client(timeout=30) as http:
        warmup, measured = (fixed_sequence(http, backend, n) for n in (args.warmup, args.turns))
    stack._spawn("rasa", rasa_command(stack, arm), cwd=ROOT / "bot")
    leader = stack.processes["rasa"].pid
    log = c.log_dir / "rasa.log"
    try:
        wait_for_rasa(stack)
        with httpx.Client(base_url=c.url(c.rasa_port), headers=headers, timeout=30) as rasa:
            send_turns(rasa, warmup)
            cpu, logged = group_cpu_s(leader, reaped_children=True), log.stat().st_size
            latencies, errors = send_turns(rasa, measured)
            cpu, logged = group_cpu_s(leader, reaped_children=True) - cpu, log.stat().st_size - logged
        facts = process_facts(leader)
        facts["group"] = sum(1 for _ in group_processes(leader))
    finally:
        stop_groups([stack.processes.pop("rasa")])
    quantiles = statistics.quantiles(latencies, n=20)
    return Arm(arm, len(measured), cpu * 1000 / len(measured), statistics.median(latencies), quantiles[18],
               logged / len(measured), facts, errors)  # fmt: skip


# ------------------------------------------------------------------------------------------ report


def arm_line(index: int, a: Arm) -> str:
    return (
        f"{index:2d} {a.arm}: Rasa CPU {a.cpu_ms_per_turn:6.2f} ms/turn | p50 {a.p50_ms:6.1f} ms | "
        f"p95 {a.p95_ms:6.1f} ms | log {a.log_bytes_per_turn:5.0f} B/turn | threads {a.facts['threads']} | "
        f"processes {a.facts['group']} | RSS {a.facts['rss_kb']} kB | errors {a.errors} | "
        f"{time.strftime('%H:%M:%S')}"
    )


def summary(arms: list[Arm]) -> list[str]:
    pairs = [arms[i : i + 2] for i in range(0, len(arms) - 1, 2)]
    ratios = []
    for pair in pairs:
        by = {a.arm: a for a in pair}
        if set(by) == {"A", "B"}:
            ratios.append((by["B"].cpu_ms_per_turn / by["A"].cpu_ms_per_turn,
                           by["B"].p50_ms / by["A"].p50_ms))  # fmt: skip
    lines = []
    for name in ("A", "B"):
        mine = [a for a in arms if a.arm == name]
        cpu = statistics.median(a.cpu_ms_per_turn for a in mine)
        p50 = statistics.median(a.p50_ms for a in mine)
        lines.append(f"{name}: median CPU {cpu:.2f} ms/turn, median p50 {p50:.1f} ms over {len(mine)} arms")
    if ratios:
        cpu_r = [r[0] for r in ratios]
        p50_r = [r[1] for r in ratios]
        lines.append(
            f"B/A per pair: CPU {', '.join(f'{r:.3f}' for r in cpu_r)} "
            f"(median {statistics.median(cpu_r):.3f}); "
            f"p50 {', '.join(f'{r:.3f}' for r in p50_r)} (median {statistics.median(p50_r):.3f})"
        )
    return lines


def facts_lines(arms: list[Arm]) -> list[str]:
    lines = []
    for name in ("A", "B"):
        first = next((a for a in arms if a.arm == name), None)
        if first is not None:
            f = first.facts
            lines.append(f"{name} argv {f['argv0']}; threads by name {f['names']}; env {f['env']}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--order", default="ABBABAAB")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=40)
    args = parser.parse_args()
    stop_on_signals()
    stack = private_stack("rasa-ab")
    # The file itself, not the link a retraining may move meanwhile: every arm loads the same model.
    stack.config.model = stack.config.model.resolve()
    print(f"model {stack.config.model}", flush=True)
    arms: list[Arm] = []
    try:
        with bench_lock():
            stack.prepare_database()
            stack.config.log_dir.mkdir(parents=True, exist_ok=True)
            stack._spawn("actions", stack._action_command(), cwd=ROOT)
            stack._spawn("backend", stack._backend_command(), cwd=ROOT)
            c = stack.config
            stack._wait({"actions": (c.url(c.action_port) + "/health", _ok),
                         "backend": (c.url(c.backend_port) + "/health", _ok)}, 300)  # fmt: skip
        for index, arm in enumerate(args.order, 1):
            with bench_lock():
                arms.append(run_arm(stack, arm, args))
            print(arm_line(index, arms[-1]), flush=True)
    finally:
        stack.stop()
    print("\n".join(["", *summary(arms), *facts_lines(arms)]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
