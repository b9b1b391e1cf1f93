"""`make bench`: load through the whole stack, then the knowledge-base and risk-scoring benchmarks.

1. A private stack (own ports, a fresh SQLite database under var/bench, the trained model) is started,
   `scripts.loadgen` runs 10, 50 and 200 simulated customers through it and through bare Rasa, and the
   stack is stopped. Results: var/bench/load.json and the table in docs/benchmarks.md.
2. `scripts.bench_kb` (search latency at 10k/100k/1M chunks, one-article update vs full rebuild) and
   `scripts.bench_risk` (scoring latency and batch throughput) print their own figures.

    python -m scripts.bench [--customers 10 50 200] [--skip-kb] [--skip-risk]
"""

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.paths import APP_PYTHON, ROOT, VAR
from scripts.stack import Stack, StackConfig

OUT = VAR / "bench"
DOC = ROOT / "docs" / "benchmarks.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOADGEN_RATE_LIMITS = {
    "RATE_LIMIT_SESSIONS_PER_IP": "100000/minute",
    "RATE_LIMIT_MESSAGES_PER_IP": "1000000/minute",
}


def private_stack() -> Stack:
    work = OUT / "stack"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return Stack(
        StackConfig(
            database_url=f"sqlite:///{work / 'supportdesk.db'}",
            backend_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            log_dir=work / "logs",
            rasa_tracker_db=work / "tracker.db",
            extra_env={
                "KB_INDEX_DIR": str(work / "kb_index"),
                "RISK_MODEL_DIR": str(work / "risk_models"),
                # Every simulated customer comes from 127.0.0.1: the per-address limits are for the internet.
                **LOADGEN_RATE_LIMITS,
            },
        )
    )


def run_load(customers: list[int]) -> list[dict[str, Any]]:
    stack = private_stack()
    stack.prepare_database()
    stack.start()
    result = OUT / "load.json"
    try:
        stack.wait_healthy()
        c = stack.config
        subprocess.run(
            [
                str(APP_PYTHON), "-m", "scripts.loadgen",
                "--backend", c.url(c.backend_port),
                "--rasa", c.url(c.rasa_port),
                "--database-url", c.database_url,
                "--customers", *map(str, customers),
                "--json", str(result),
            ],
            cwd=ROOT,
            check=True,
        )  # fmt: skip
    finally:
        stack.stop()
    return json.loads(result.read_text())


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024**2:.0f} GB RAM, {platform.platform()}"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` on {machine()}.",
        "One backend worker, SQLite, Rasa and the action server on the same machine (`make run`'s topology).",
        "A turn is: widget WebSocket message -> backend stores it -> Rasa (NLU, policies, actions calling",
        "the backend: order look-up, knowledge search) -> replies stored -> escalation scoring -> ack.",
        "Bare Rasa is the same model's REST webhook, no backend. Lost = sent - stored (must be 0).",
        "Answered < stored: Rasa took longer than RASA_TIMEOUT_S, the customer got the holding reply and the",
        "message is kept with bot_status `failed` for follow-up.",
        "",
        "| customers | turns | p50 ms | p95 ms | p99 ms | msg/s | errors | sent | stored | answered | lost "
        "| bare Rasa p50 ms | bare Rasa p95 ms | full / bare p50 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        bare = r["bare_rasa"]
        lines.append(
            f"| {r['customers']} | {r['turns']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['msgs_per_s']:.1f} | {r['errors']} | {r['sent']} | {r['stored']} | {r['answered']} "
            f"| {r['lost']} | {bare['p50_ms']:.1f} | {bare['p95_ms']:.1f} | {r['ratio_p50_full_vs_bare']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--skip-kb", action="store_true")
    parser.add_argument("--skip-risk", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print("== load through the whole stack", flush=True)
    rows = run_load(args.customers)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(markdown(rows))
    print(f"wrote {DOC.relative_to(ROOT)}", flush=True)
    for name, skip in (("bench_kb", args.skip_kb), ("bench_risk", args.skip_risk)):
        if not skip:
            print(f"\n== {name}", flush=True)
            subprocess.run([str(APP_PYTHON), "-m", f"scripts.{name}"], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
