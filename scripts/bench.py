"""`make bench`: load through the whole stack, then the knowledge-base and risk-scoring benchmarks.

1. A private stack (own ports, a fresh SQLite database under var/bench, the trained model) is started,
   `scripts.loadgen` runs 10, 50 and 200 simulated customers through it and through bare Rasa, and the
   stack is stopped. Results: var/bench/load.json and the table in docs/benchmarks.md.
   Then `scripts.bench_steady`: the headline, steady interleaved full-vs-bare run at 50 typing customers
   (its own stack; var/bench/steady.json and .md, its table in docs/benchmarks.md's `steady` section).
2. `scripts.bench_kb` (search latency at 10k/100k/1M chunks, one-article update vs full rebuild) and
   `scripts.bench_risk` (scoring latency and batch throughput) print their own figures.

    python -m scripts.bench [--customers 10 50 200] [--skip-steady] [--skip-kb] [--skip-risk]
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

from scripts.doc_sections import replace_section
from scripts.paths import APP_PYTHON, ROOT, VAR
from scripts.stack import Stack, StackConfig

OUT = VAR / "bench"
# Mean seconds between the bot's reply and the customer's next message in the typing profile. People in a
# support chat read the answer and type a sentence: usually 10 s or more; 5 s is a fast typist, so the load
# errs on the heavy side.
TYPING_THINK_S = 5.0
DOC = ROOT / "docs" / "benchmarks.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOADGEN_RATE_LIMITS = {
    "RATE_LIMIT_SESSIONS_PER_IP": "100000/minute",
    "RATE_LIMIT_MESSAGES_PER_IP": "1000000/minute",
}


def private_stack(name: str = "stack") -> Stack:
    """A stack of its own under var/bench/<name> (wiped first); separate names let benches not share one."""
    work = OUT / name
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
            # The bare-Rasa comparison (scripts/loadgen.py) sends to Rasa's `rest` channel, which the
            # product's credentials.yml leaves out.
            credentials="credentials.bench.yml",
            extra_env={
                "KB_INDEX_DIR": str(work / "kb_index"),
                "RISK_MODEL_DIR": str(work / "risk_models"),
                # Every simulated customer comes from 127.0.0.1: the per-address limits are for the internet.
                **LOADGEN_RATE_LIMITS,
            },
        )
    )


def run_load(customers: list[int], profiles: dict[str, float], conversations: int) -> dict[str, Any]:
    """One private stack; the load generator once per profile (name -> mean think time in seconds)."""
    stack = private_stack()
    stack.prepare_database()
    stack.start()
    results: dict[str, Any] = {}
    try:
        stack.wait_healthy()
        c = stack.config
        for name, think_s in profiles.items():
            result = OUT / f"load-{name}.json"
            print(f"-- {name}: think time {think_s} s", flush=True)
            subprocess.run(
                [
                    str(APP_PYTHON), "-m", "scripts.loadgen",
                    "--backend", c.url(c.backend_port),
                    "--rasa", c.url(c.rasa_port),
                    "--database-url", c.database_url,
                    "--customers", *map(str, customers),
                    "--think-s", str(think_s),
                    "--conversations", str(conversations),
                    "--json", str(result),
                ],
                cwd=ROOT,
                check=True,
            )  # fmt: skip
            results[name] = {"think_s": think_s, "rows": json.loads(result.read_text())}
    finally:
        stack.stop()
    (OUT / "load.json").write_text(json.dumps(results, indent=2))
    return results


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )  # fmt: skip
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024**2:.0f} GB RAM, {platform.platform()}"


PROFILE_NOTES = {
    "typing": "customers who read the reply and type the next message (mean think time {think} s, "
    "exponential, seeded): the target profile",
    "closed-loop": "no think time: each customer sends its next message the moment the ack arrives, so N "
    "customers keep N turns in flight (a stress test of throughput, not a customer load)",
}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "## Load through the whole stack (`make bench`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` on {machine()}.",
        "One backend worker, SQLite, Rasa and the action server on the same machine (`make run`'s topology).",
        "A turn is: widget WebSocket message -> backend stores it -> Rasa (NLU, policies, actions calling",
        "the backend: order look-up, knowledge search) -> replies stored and pushed -> ack (escalation",
        "scoring follows the ack); latency is the customer's, from sending to the ack. Bare Rasa is the same",
        "model's REST webhook, no backend, sent the same texts by the same number of customers with the same",
        "think time. Lost = accepted but not stored (must be 0). Holding: the turn took longer than",
        "RASA_TIMEOUT_S from the message's arrival, the customer got the holding reply and the message is",
        "kept with bot_status `failed` for follow-up.",
    ]
    for name, result in results.items():
        lines += [
            "",
            f"### {name}: {PROFILE_NOTES[name].format(think=result['think_s'])}",
            "",
            "| customers | turns | p50 ms | p95 ms | p99 ms | msg/s | errors | sent | stored | answered "
            "| holding | lost | reordered | bare Rasa p50 ms | bare Rasa p95 ms | full / bare p50 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            bare = r["bare_rasa"]
            lines.append(
                f"| {r['customers']} | {r['turns']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['msgs_per_s']:.1f} | {r['errors']} | {r['sent']} | {r['stored']} "
                f"| {r['answered']} | {r['holding']} | {r['lost']} | {r['reordered']} "
                f"| {bare['p50_ms']:.1f} | {bare['p95_ms']:.1f} | {r['ratio_p50_full_vs_bare']} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument(
        "--think-s", type=float, default=TYPING_THINK_S, help="mean think time of the typing profile"
    )
    parser.add_argument("--conversations", type=int, default=2, help="conversations per customer")
    parser.add_argument("--skip-closed-loop", action="store_true", help="only the typing profile")
    parser.add_argument("--skip-steady", action="store_true", help="no steady interleaved run")
    parser.add_argument("--skip-kb", action="store_true")
    parser.add_argument("--skip-risk", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print("== load through the whole stack", flush=True)
    profiles = {"typing": args.think_s} | ({} if args.skip_closed_loop else {"closed-loop": 0.0})
    results = run_load(args.customers, profiles, args.conversations)
    replace_section(DOC, "load", markdown(results))
    print(f"wrote {DOC.relative_to(ROOT)}", flush=True)
    if not args.skip_steady:
        print("\n== steady interleaved run (scripts.bench_steady)", flush=True)
        subprocess.run([str(APP_PYTHON), "-m", "scripts.bench_steady"], cwd=ROOT, check=True)
        replace_section(DOC, "steady", (OUT / "steady.md").read_text().rstrip())
    for name, skip in (("bench_kb", args.skip_kb), ("bench_risk", args.skip_risk)):
        if not skip:
            print(f"\n== {name}", flush=True)
            subprocess.run([str(APP_PYTHON), "-m", f"scripts.{name}"], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
