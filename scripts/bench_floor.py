"""The floor under the backend's CPU per turn: a relay that only passes the widget's frames to Rasa.

    python -m scripts.bench_floor [--customers 50] [--cycles 4] [--warmup-s 10] [--measure-s 30]

Issue 20 asks for at most 8 ms of backend CPU per customer turn under the steady load. This measures what a
front end costs that does none of the product's work, on the same frameworks and the same load: the relay is
a FastAPI app under uvicorn launched with the backend's flags (one worker, no access log, the same WebSocket
implementation and event loop) that opens widget sessions without storing them, accepts the widget's socket
with its subprotocols, and for each message frame POSTs the text to Rasa's REST channel through an httpx
client, then sends the customer's message, each reply and the ack back as JSON frames, as the backend does.
No database, no scoring, no hand-off decision, no redaction, no service API (Rasa's actions call the real
backend of the stack, whose CPU is not the relay's).

Three systems on one private stack, in rotating blocks with one seed per cycle (same customers, texts and
think times): the full stack (`scripts.bench_steady`'s block, its CPU the backend's process group), the relay
(its CPU the relay's process group) and bare Rasa. Per system: the customer-visible p50/p95 and, for the two
Python fronts, the CPU per acked turn; the median over cycles of each and of relay/bare and full/bare p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from backend.auth.sockets import PROTOCOL
from backend.conversations.rasa_client import KEEPALIVE_EXPIRY_S
from scripts.bench import OUT, TYPING_THINK_S, free_port, machine, private_stack
from scripts.bench_steady import Block, Target, run_block, target_of
from scripts.paths import APP_PYTHON, ROOT
from scripts.stack import stop_groups


# ---- the relay ------------------------------------------------------------------------------------------
def relay_app(rasa_url: str) -> FastAPI:
    """The relay in front of the Rasa server at `rasa_url`."""
    rasa = rasa_url + "/webhooks/rest/webhook"
    app = FastAPI()
    client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S))

    @app.post("/api/v1/widget/sessions")
    async def open_session() -> dict[str, str]:
        conversation_id = str(uuid.uuid4())
        return {"conversation_id": conversation_id, "token": conversation_id}

    @app.websocket("/ws/widget")
    async def widget(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=PROTOCOL)
        sender = str(uuid.uuid4())
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                await websocket.send_json({"type": "message", "message": {"sender": "customer", **frame}})
                response = await client.post(rasa, json={"sender": sender, "message": frame["text"]})
                for reply in response.json():
                    await websocket.send_json({"type": "message", "message": {"sender": "bot", **reply}})
                await websocket.send_json({"type": "ack", "client_message_id": frame["client_message_id"]})
        except WebSocketDisconnect:
            return

    return app


def start_relay(rasa: str, port: int) -> subprocess.Popen[bytes]:
    """The relay in a process group of its own: this module's `--serve-relay`, uvicorn as the backend runs
    (one worker, no access log, uvicorn's default loop, HTTP and WebSocket implementations)."""
    command = [str(APP_PYTHON), "-m", "scripts.bench_floor", "--serve-relay", rasa, "--relay-port", str(port)]
    log = (OUT / "relay.log").open("ab")
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_up(url: str, timeout_s: float = 60) -> None:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        try:
            if httpx.post(f"{url}/api/v1/widget/sessions", timeout=2).is_success:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise TimeoutError(f"relay at {url} did not start")


# ---- blocks ---------------------------------------------------------------------------------------------
SYSTEMS = ("full", "relay", "bare")


@dataclass
class Cycle:
    seed: int
    blocks: dict[str, Block]


async def run_cycle(
    index: int, target: Target, relay: str, relay_pid: int, args: argparse.Namespace
) -> Cycle:
    seed = args.seed + index
    order = SYSTEMS if index % 2 == 0 else tuple(reversed(SYSTEMS))
    blocks: dict[str, Block] = {}
    for system in order:
        # The relay stands where the backend does: same customers, its own process group's CPU.
        against = replace(target, backend=relay, backend_pid=relay_pid) if system == "relay" else target
        blocks[system] = await run_block(system, seed, against, args)
        b = blocks[system]
        print(
            f"  cycle {index} {system:<5} turns {len(b.latencies_ms):>4} p50 {b.p50:6.1f} "
            f"p95 {b.p95:6.1f} ms errors {b.errors} CPU {b.backend_cpu_ms_per_turn:5.1f} ms/turn",
            flush=True,
        )
    return Cycle(seed, blocks)


def summary(cycles: list[Cycle]) -> dict[str, Any]:
    def median(values: list[float], digits: int = 1) -> float:
        return round(statistics.median(values), digits)

    out: dict[str, Any] = {}
    for system in SYSTEMS:
        blocks = [c.blocks[system] for c in cycles]
        out[system] = {
            "turns": sum(len(b.latencies_ms) for b in blocks),
            "errors": sum(b.errors for b in blocks),
            "p50_ms": median([b.p50 for b in blocks]),
            "p95_ms": median([b.p95 for b in blocks]),
            "cpu_ms_per_turn": median([b.backend_cpu_ms_per_turn for b in blocks]),
            "cpu_range": [round(min(b.backend_cpu_ms_per_turn for b in blocks), 1),
                          round(max(b.backend_cpu_ms_per_turn for b in blocks), 1)],
        }  # fmt: skip
    for system in ("full", "relay"):
        out[f"{system}/bare p50"] = median([c.blocks[system].p50 / c.blocks["bare"].p50 for c in cycles], 2)
    return out


def markdown(result: dict[str, Any], args: argparse.Namespace, stamp: str) -> str:
    lines = [
        f"Measured {stamp} by `python -m scripts.bench_floor --customers {args.customers} "
        f"--cycles {args.cycles} --warmup-s {args.warmup_s:g} --measure-s {args.measure_s:g}` "
        f"on {machine()}; medians over cycles.",
        "",
        "| system | turns | errors | p50 ms | p95 ms | CPU ms per turn (min-max) | p50 / bare p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for system in SYSTEMS:
        r = result[system]
        cpu = "" if system == "bare" else f"{r['cpu_ms_per_turn']} ({r['cpu_range'][0]}-{r['cpu_range'][1]})"
        ratio = "" if system == "bare" else str(result[f"{system}/bare p50"])
        lines.append(
            f"| {system} | {r['turns']} | {r['errors']} | {r['p50_ms']} | {r['p95_ms']} | {cpu} | {ratio} |"
        )
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    stack = private_stack("floor-stack")
    stack.prepare_database()
    stack.start()
    relay_process: subprocess.Popen[bytes] | None = None
    try:
        stack.wait_healthy()
        target = target_of(stack, args.customers)
        relay_port = free_port()
        relay_process = start_relay(target.rasa, relay_port)
        relay = f"http://127.0.0.1:{relay_port}"
        wait_up(relay)
        await asyncio.sleep(args.settle_s)
        cycles = [await run_cycle(i, target, relay, relay_process.pid, args) for i in range(args.cycles)]
        return summary(cycles)
    finally:
        if relay_process is not None:
            stop_groups([relay_process])
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=4, help="blocks per system, in rotating order")
    parser.add_argument("--warmup-s", type=float, default=10.0)
    parser.add_argument("--measure-s", type=float, default=30.0)
    parser.add_argument("--think-s", type=float, default=TYPING_THINK_S)
    parser.add_argument("--settle-s", type=float, default=20.0)
    parser.add_argument("--identified-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--serve-relay", metavar="RASA_URL", help="serve the relay only (start_relay runs it)"
    )
    parser.add_argument("--relay-port", type=int, default=0)
    args = parser.parse_args()
    if args.serve_relay:
        uvicorn.run(relay_app(args.serve_relay), host="127.0.0.1", port=args.relay_port, access_log=False)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(bench(args))
    report = markdown(result, args, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print("\n" + report, flush=True)
    (OUT / "floor.json").write_text(json.dumps(result, indent=2))
    (OUT / "floor.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
