"""`make bench-locust`: Locust against a private stack, cross-checked with the bench's own load generator.

One private stack (as `make bench` starts it). First scripts/bench_steady's full-stack block (N typing
customers, ramp-up excluded), then Locust (scripts/locustfile.py, its own venv) headless against the same
stack at the same number of customers and think time, with `--reset-stats` so its figures also leave the
spawn phase out, writing CSV to var/bench/locust_*.csv. Printed side by side: the turn latency p50/p95 of both
(the bench: first send to ack on the WebSocket; Locust: the same for its WebSocket customers, and the
whole turn for its REST customers). Locust runs 4 WebSocket customers to 1 REST one, the bench only
WebSocket ones, so only the WebSocket rows compare like with like; Locust's percentiles are rounded to its
own buckets (2 significant digits).

    python -m scripts.bench_locust [--customers 50] [--duration-s 120] [--bench-s 60]
"""

import argparse
import asyncio
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from scripts import bench_steady, loadgen
from scripts.bench import OUT, TYPING_THINK_S, private_stack
from scripts.paths import ROOT

LOCUST = ROOT / ".venv-locust" / "bin" / "locust"
SETTLE_S = 20.0


def locust_rows(prefix: Path) -> dict[str, dict[str, str]]:
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--duration-s", type=int, default=120, help="Locust's run time")
    parser.add_argument("--bench-s", type=float, default=60.0, help="the bench block's counted part")
    parser.add_argument("--think-s", type=float, default=TYPING_THINK_S)
    args = parser.parse_args()
    if not LOCUST.exists():
        parser.error(f"no {LOCUST}: run `bash scripts/bootstrap.sh locust` (make bench-locust does)")
    OUT.mkdir(parents=True, exist_ok=True)
    stack = private_stack("locust-stack")
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy()
        time.sleep(
            SETTLE_S
        )  # the backend's start-up work (knowledge index, model loads) stays out of the figures
        c = stack.config
        backend = c.url(c.backend_port)
        shoppers = loadgen.shoppers(c.database_url, args.customers)
        secret = os.environ.get("IDENTITY_SECRET", loadgen.DEVELOPMENT_SECRETS["identity_secret"])
        target = bench_steady.Target(
            backend, c.url(c.rasa_port), c.database_url, stack.processes["backend"].pid, shoppers, secret
        )
        steady = argparse.Namespace(
            customers=args.customers, think_s=args.think_s, identified_share=0.3,
            warmup_s=2 * args.think_s, measure_s=args.bench_s,
        )  # fmt: skip
        print(f"-- bench: {args.customers} typing customers, {args.bench_s:g} s counted", flush=True)
        block = asyncio.run(bench_steady.run_block("full", 11, target, steady))
        print(bench_steady.block_line(0, block), flush=True)
        prefix = OUT / "locust"
        print(f"-- locust: -u {args.customers} -r 5 -t {args.duration_s}s", flush=True)
        subprocess.run(
            [
                str(LOCUST), "-f", str(ROOT / "scripts" / "locustfile.py"), "--host", backend, "--headless",
                "-u", str(args.customers), "-r", "5", "-t", f"{args.duration_s}s", "--reset-stats",
                "--csv", str(prefix), "--only-summary",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "SUPPORTDESK_THINK_S": str(args.think_s),
                "SUPPORTDESK_IDENTITY_SECRET": secret,
                "SUPPORTDESK_SHOPPERS": ",".join(f"{s.email}={s.order}" for s in shoppers),
            },
            check=False,  # locust exits 1 when any request failed: the figures are still printed
        )  # fmt: skip
    finally:
        stack.stop()
    rows = locust_rows(prefix)
    print(
        "\n| source | path | requests | per s | failures | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|"
    )
    print(
        f"| bench (scripts.loadgen) | WebSocket, send -> ack | {len(block.latencies_ms)} "
        f"| {len(block.latencies_ms) / args.bench_s:.1f} | {block.errors} "
        f"| {block.p50:.0f} | {block.p95:.0f} |"
    )
    for name in ("turn to ack (WebSocket)", "whole turn (REST)", "open session (REST)"):
        if name in rows:
            r = rows[name]
            print(
                f"| Locust | {name} | {r['Request Count']} | {float(r['Requests/s']):.1f} "
                f"| {r['Failure Count']} | {r['50%']} | {r['95%']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
