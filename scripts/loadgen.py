"""Load generator: N simulated customers hold multi-turn conversations through the whole stack.

Each customer opens a widget session, connects the WebSocket and sends a scripted conversation, waiting for
each turn's ack (which the backend sends after the bot's replies are stored and pushed). Reported:
turn latency p50/p95/p99 (send -> ack), messages per second, errors, and messages lost, counted from the
database: sent vs stored vs answered (bot_status answered or skipped because a human owns the conversation).

The same texts are then sent to bare Rasa (its REST webhook, same model, no backend) for the ratio
full stack / bare Rasa. Only loopback addresses are used; every loop is bounded in count and time.

    python -m scripts.loadgen --backend http://127.0.0.1:8000 --rasa http://127.0.0.1:5005 \\
        --database-url sqlite:///var/supportdesk.db --customers 10 50 200 --json var/bench/load.json
"""

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import bindparam, create_engine, text

from backend.config import to_sync_url

# Conversations a support bot really sees; each customer picks one (seeded) and sends it turn by turn.
SCRIPTS = [
    ["hi", "where is my order ORD-100002?", "thanks", "bye"],
    ["hello", "how do I reset my password?", "ok thank you"],
    ["I need a copy of my invoice", "thanks a lot"],
    ["my payment failed", "what should I do?", "great, thanks"],
    ["hey there", "what plans do you have?", "how much is the pro plan?", "bye"],
    ["my parcel is late", "ORD-100003", "thank you"],
]
TURN_TIMEOUT_S = 30.0


@dataclass
class RunResult:
    customers: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0
    conversations: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def customer(backend: str, script: list[str], result: RunResult, http: httpx.AsyncClient) -> None:
    try:
        session = (await http.post(f"{backend}/api/v1/widget/sessions", json={})).json()
    except (httpx.HTTPError, ValueError):
        result.errors += 1
        return
    result.conversations.append(session["conversation_id"])
    url = backend.replace("http", "ws", 1) + f"/ws/widget?token={session['token']}"
    try:
        async with websockets.connect(url, open_timeout=TURN_TIMEOUT_S) as ws:
            for line in script:
                await _turn(ws, line, result)
    except (OSError, websockets.WebSocketException, TimeoutError):
        result.errors += 1


async def _turn(ws: websockets.ClientConnection, line: str, result: RunResult) -> None:
    client_id = uuid.uuid4().hex
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": line, "client_message_id": client_id}))
    result.sent += 1
    deadline = started + TURN_TIMEOUT_S
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(deadline - time.perf_counter(), 0.01)))
        if frame.get("type") == "ack" and frame.get("client_message_id") == client_id:
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            return
        if frame.get("type") == "error":
            result.errors += 1
            return


async def run_full_stack(backend: str, customers: int, seed: int) -> RunResult:
    rng = random.Random(seed)
    result = RunResult(customers=customers)
    limits = httpx.Limits(max_connections=customers)
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT_S, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(
            *(customer(backend, rng.choice(SCRIPTS), result, http) for _ in range(customers))
        )
        result.wall_s = time.perf_counter() - started
    return result


async def run_bare_rasa(rasa: str, customers: int, seed: int) -> RunResult:
    """The same conversations straight to Rasa's REST channel: the floor the full stack is compared with."""
    rng = random.Random(seed)
    result = RunResult(customers=customers)

    async def one(script: list[str], http: httpx.AsyncClient) -> None:
        sender = f"bare-{uuid.uuid4().hex}"
        for line in script:
            started = time.perf_counter()
            try:
                response = await http.post(
                    f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": line}
                )
                response.raise_for_status()
            except httpx.HTTPError:
                result.errors += 1
                return
            result.sent += 1
            result.latencies_ms.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(
        timeout=TURN_TIMEOUT_S, limits=httpx.Limits(max_connections=customers)
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one(rng.choice(SCRIPTS), http) for _ in range(customers)))
        result.wall_s = time.perf_counter() - started
    return result


def count_in_database(database_url: str, conversations: list[str]) -> dict[str, int]:
    if not conversations:
        return {"stored": 0, "answered": 0}
    engine = create_engine(to_sync_url(database_url))
    query = text(
        "SELECT count(*) AS stored, "
        "sum(CASE WHEN bot_status IN ('answered', 'skipped') THEN 1 ELSE 0 END) AS answered "
        "FROM messages WHERE sender = 'customer' AND conversation_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        row = conn.execute(query, {"ids": conversations}).one()
    engine.dispose()
    return {"stored": int(row.stored or 0), "answered": int(row.answered or 0)}


def summary(result: RunResult) -> dict[str, float | int]:
    return {
        "customers": result.customers,
        "turns": len(result.latencies_ms),
        "p50_ms": round(percentile(result.latencies_ms, 50), 1),
        "p95_ms": round(percentile(result.latencies_ms, 95), 1),
        "p99_ms": round(percentile(result.latencies_ms, 99), 1),
        "mean_ms": round(statistics.fmean(result.latencies_ms), 1) if result.latencies_ms else float("nan"),
        "msgs_per_s": round(len(result.latencies_ms) / result.wall_s, 1) if result.wall_s else 0.0,
        "errors": result.errors,
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for n in args.customers:
        full = await run_full_stack(args.backend, n, args.seed)
        counts = count_in_database(args.database_url, full.conversations)
        bare = await run_bare_rasa(args.rasa, n, args.seed)
        row = {
            **summary(full),
            "sent": full.sent,
            **counts,
            "lost": full.sent - counts["stored"],
            "unanswered": counts["stored"] - counts["answered"],
            "bare_rasa": summary(bare),
        }
        row["ratio_p50_full_vs_bare"] = round(row["p50_ms"] / row["bare_rasa"]["p50_ms"], 2)
        rows.append(row)
        print_row(row)
    return rows


def print_row(row: dict[str, Any]) -> None:
    bare = row["bare_rasa"]
    print(
        f"{row['customers']:>4} customers | turns {row['turns']:>5} | p50 {row['p50_ms']:>7.1f} ms | "
        f"p95 {row['p95_ms']:>7.1f} | p99 {row['p99_ms']:>7.1f} | {row['msgs_per_s']:>6.1f} msg/s | "
        f"errors {row['errors']} | sent {row['sent']} stored {row['stored']} answered {row['answered']} "
        f"lost {row['lost']} | bare Rasa p50 {bare['p50_ms']:.1f} ms p95 {bare['p95_ms']:.1f} | "
        f"full/bare p50 {row['ratio_p50_full_vs_bare']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="http://127.0.0.1:8000")
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for url in (args.backend, args.rasa):
        host = httpx.URL(url).host
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"load is only sent to loopback addresses, not {host}")
    rows = asyncio.run(main_async(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
