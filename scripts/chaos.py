"""`make chaos`: faults under load on the scaled-out stack, and what they cost customers (must be nothing).

A private scaled stack (`scripts/scaled.py`: two Rasa replicas, the action server, a backend with two
workers, PostgreSQL, Redis lock store, RabbitMQ broker; fresh databases, own ports, logs in
var/bench/chaos/logs) is started and `scripts.loadgen`'s customers talk to it (20 customers, ~1 s think time,
one conversation after another) while, in turn:

1. one Rasa replica is killed with SIGKILL, then restarted;
2. the action server is killed with SIGKILL, then restarted;
3. one backend worker process is killed with SIGKILL (uvicorn's supervisor starts a new one; the customers
   on it reconnect and re-send with the same client_message_id, as the widget does);
4. PostgreSQL is restarted (`pg_ctlcluster ... restart`); while it is down nothing can be accepted, so
   customers retry until it is back.

Per fault (the messages first sent from the fault until the next one) it prints: sent, accepted (acked or
stored), stored, answered (bot reply or hand-off), holding (holding reply: bot unavailable), unanswered,
lost (accepted but not stored: must be 0), reordered, double-answered; and whether the conversation goes on
after recovery (a new turn gets a real bot answer, and conversations that began before the fault get real
answers afterwards). Exit status 1 if anything was lost, reordered or answered twice, or a recovery check
failed. Results: var/bench/chaos.json and a section of docs/benchmarks.md. Bounded: about 6 to 9 minutes.

    python -m scripts.chaos [--customers 20] [--think-s 1.0] [--seed 7]
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from backend.auth.sockets import subprotocols
from scripts import loadgen
from scripts.bench import free_port, machine
from scripts.doc_sections import replace_section
from scripts.paths import ROOT, VAR
from scripts.scaled import ScaledConfig, ScaledStack, create_database_if_missing, drop_database

OUT = VAR / "bench" / "chaos.json"
WORK = VAR / "bench" / "chaos"
DOC = ROOT / "docs" / "benchmarks.md"
PG = "postgresql://postgres@127.0.0.1:5432/"
WARM_UP_S = 15.0
HOLD_S = 15.0  # load keeps running this long after each recovery before the next fault
# Generous: a Rasa replica needs 30-60 s to load its model on a quiet machine, minutes on a busy one.
START_TIMEOUT_S = 900.0
RECOVERY_TIMEOUT_S = 600.0
DRAIN_TIMEOUT_S = 150.0
PROBE_WINDOW_S = 240.0  # a recovering replica may answer its first turns with the holding reply


@dataclass
class FaultWindow:
    name: str
    started: float  # time.monotonic()
    recovered: float = 0.0
    ended: float = 0.0
    recovery_s: float = 0.0
    probe_answer: str = ""
    continues: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    continued_conversations: int = 0
    straddling_conversations: int = 0


# ---- the faults --------------------------------------------------------------------------------------------
def kill_rasa_replica(stack: ScaledStack) -> None:
    name = stack.config.rasa_names[0]
    stack.kill(name)
    time.sleep(10)  # the other replica carries every turn meanwhile
    stack.restart(name)
    stack.wait_healthy(RECOVERY_TIMEOUT_S, [name])


def kill_action_server(stack: ScaledStack) -> None:
    stack.kill("actions")
    time.sleep(5)
    stack.restart("actions")
    stack.wait_healthy(RECOVERY_TIMEOUT_S, ["actions"])


def kill_backend_worker(stack: ScaledStack) -> None:
    workers = stack.backend_worker_pids()
    if not workers:
        raise RuntimeError("no backend worker process found")
    started_before = _worker_startups(stack)
    os.kill(workers[0], signal.SIGKILL)
    # The other worker serves meanwhile; uvicorn's supervisor starts a replacement. Wait until it serves,
    # so the next fault (the database going away) does not hit a worker in its start-up.
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while _worker_startups(stack) <= started_before:
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not replace the killed worker")
        time.sleep(0.5)
    stack.wait_healthy(RECOVERY_TIMEOUT_S, ["backend"])


def _worker_startups(stack: ScaledStack) -> int:
    log = stack.config.log_dir / "backend.log"
    return log.read_text(errors="replace").count("Application startup complete.")


def restart_postgres(stack: ScaledStack) -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120
    )
    stack.wait_healthy(RECOVERY_TIMEOUT_S, ["backend"])


FAULTS: list[tuple[str, Callable[[ScaledStack], None]]] = [
    ("kill -9 Rasa replica", kill_rasa_replica),
    ("kill -9 action server", kill_action_server),
    ("kill -9 backend worker", kill_backend_worker),
    ("restart PostgreSQL", restart_postgres),
]


# ---- recovery probe ----------------------------------------------------------------------------------------
async def probe(backend: str, holding_reply: str) -> str:
    """A new customer's turn after recovery; returns the bot's first real answer ('' if none came)."""
    give_up_at = time.monotonic() + PROBE_WINDOW_S
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < give_up_at:
            try:
                answer = await _probe_once(http, backend, holding_reply)
            except (httpx.HTTPError, OSError, websockets.WebSocketException, TimeoutError, KeyError):
                answer = ""
            if answer:
                return answer
            await asyncio.sleep(3)
    return ""


async def _probe_once(http: httpx.AsyncClient, backend: str, holding_reply: str) -> str:
    session = (await http.post(f"{backend}/api/v1/widget/sessions", json={})).raise_for_status().json()
    url = backend.replace("http", "ws", 1) + "/ws/widget"
    client_id = uuid.uuid4().hex
    replies: list[str] = []
    async with websockets.connect(url, subprotocols=subprotocols(session["token"]), open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "message", "text": "where is my order ORD-100002?",
                                  "client_message_id": client_id}))  # fmt: skip
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "message" and frame["message"]["sender"] == "bot":
                replies.append(frame["message"]["text"])
            if frame.get("type") == "ack":
                break
    real = [r for r in replies if r != holding_reply]
    return real[0] if real else ""


# ---- the run -----------------------------------------------------------------------------------------------
def private_stack() -> ScaledStack:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    suffix = uuid.uuid4().hex[:6]
    crm, tracker = f"{PG}chaos_crm_{suffix}", f"{PG}chaos_rasa_{suffix}"
    for url in (crm, tracker):
        create_database_if_missing(url)
    config = ScaledConfig(
        database_url=crm,
        tracker_database_url=tracker,
        backend_port=free_port(),
        rasa_ports=(free_port(), free_port()),
        action_port=free_port(),
        log_dir=WORK / "logs",
        work_dir=WORK,
        extra_env={
            # One client address sends every customer's traffic here: the per-address limits are for
            # the internet, not for the load generator.
            "RATE_LIMIT_SESSIONS_PER_IP": "100000/minute",
            "RATE_LIMIT_MESSAGES_PER_IP": "100000/minute",
        },
    )
    return ScaledStack(config)


async def run_faults(stack: ScaledStack, args: argparse.Namespace) -> tuple[list[FaultWindow], Any]:
    c = stack.config
    backend = c.url(c.backend_port)
    holding_reply = _holding_reply()
    stop = asyncio.Event()
    load = loadgen.Load(backend, args.customers, args.seed, args.think_s, conversations=1000, stop=stop)
    load_task = asyncio.create_task(loadgen.run_full_stack(load))
    await asyncio.sleep(WARM_UP_S)
    windows: list[FaultWindow] = []
    for name, inject in FAULTS:
        window = FaultWindow(name=name, started=time.monotonic())
        windows.append(window)
        print(f"chaos: {name}…", flush=True)
        await asyncio.to_thread(inject, stack)
        window.recovered = time.monotonic()
        window.recovery_s = round(window.recovered - window.started, 1)
        window.probe_answer = await probe(backend, holding_reply)
        window.continues = bool(window.probe_answer)
        print(f"chaos:   recovered after {window.recovery_s} s; new turn answered: {window.continues}",
              flush=True)  # fmt: skip
        await asyncio.sleep(HOLD_S)
        window.ended = time.monotonic()
    stop.set()
    print("chaos: faults done; letting the customers finish their turns…", flush=True)
    result = await asyncio.wait_for(load_task, DRAIN_TIMEOUT_S)
    return windows, result


def fill_counts(windows: list[FaultWindow], result: loadgen.RunResult, database_url: str) -> dict[str, int]:
    rows = loadgen.stored_rows(database_url, result.conversations)
    customer_rows = {r.client_message_id: r for r in rows if r.sender == "customer"}
    # Order and once-only are properties of whole conversations: checked over the run, then attributed.
    reordered = loadgen.reordered_conversations(result.messages, rows)
    twice = loadgen.double_answered(rows)
    for i, window in enumerate(windows):
        end = windows[i + 1].started if i + 1 < len(windows) else float("inf")
        in_window = [m for m in result.messages if window.started <= m.first_sent < end]
        window.counts = loadgen.account(in_window, rows)
        window.counts["reordered"] = len(reordered & {m.conversation_id for m in in_window})
        window.counts["double_answered"] = sum(
            m.client_message_id in customer_rows and customer_rows[m.client_message_id].id in twice
            for m in in_window
        )
        before = {m.conversation_id for m in result.messages if m.first_sent < window.started}
        answered_after = {
            m.conversation_id
            for m in in_window
            if m.first_sent >= window.recovered
            and m.client_message_id in customer_rows
            and customer_rows[m.client_message_id].bot_status == "answered"
        }
        window.straddling_conversations = len(before & {m.conversation_id for m in in_window})
        window.continued_conversations = len(before & answered_after)
    return loadgen.account(result.messages, rows)


def _holding_reply() -> str:
    from backend.core.config import Settings

    return Settings().holding_reply


def report(windows: list[FaultWindow], total: dict[str, int], result: loadgen.RunResult) -> str:
    header = (
        "| fault | recovery s | sent | accepted | stored | answered | holding | unanswered | lost "
        "| reordered | double-answered | continues after recovery |"
    )
    lines = [header, "|" + "---|" * 12]
    for w in windows:
        k = w.counts
        continues = (
            f"yes ({w.continued_conversations} earlier conversations answered again)" if w.continues else "NO"
        )
        lines.append(
            f"| {w.name} | {w.recovery_s} | {k['sent']} | {k['accepted']} | {k['stored']} | {k['answered']} "
            f"| {k['holding']} | {k['unanswered']} | {k['lost']} | {k['reordered']} | {k['double_answered']} "
            f"| {continues} |"
        )
    k = total
    lines.append(
        f"| **whole run** | | {k['sent']} | {k['accepted']} | {k['stored']} | {k['answered']} "
        f"| {k['holding']} "
        f"| {k['unanswered']} | **{k['lost']}** | {k['reordered']} | {k['double_answered']} "
        f"| {result.reconnects} reconnects, {result.errors} errors |"
    )
    return "\n".join(lines)


def write_doc(table: str, args: argparse.Namespace) -> None:
    section = "\n".join(
        [
            "## Faults under load (`make chaos`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make chaos` on {machine()}",
            f"(1-minute load average {os.getloadavg()[0]:.1f} when it ended).",
            "Scaled topology (`scripts/scaled.py`): two Rasa replicas (PostgreSQL tracker store, Redis lock",
            "store, RabbitMQ broker), the action server, the backend with two uvicorn workers (Redis pub/sub",
            f"between them), PostgreSQL. {args.customers} customers, think time {args.think_s} s",
            "(exponential), one conversation after another. Each row counts the messages first sent from",
            "that fault until the next one. Accepted = acked or stored; lost = accepted but not stored;",
            "holding = the customer got the holding reply (bot unavailable); while PostgreSQL restarts",
            "nothing can be accepted, and customers retry with the same client_message_id. `continues` =",
            "a new turn after recovery got a real bot answer.",
            "",
            table,
        ]
    )
    replace_section(DOC, "chaos", section)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--think-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    started = time.monotonic()
    stack = private_stack()
    print("chaos: starting the scaled stack…", flush=True)
    stack.prepare_database()
    try:
        stack.start()
        stack.wait_healthy(START_TIMEOUT_S)
        print(f"chaos: stack healthy after {time.monotonic() - started:.0f} s; load starts", flush=True)
        windows, result = asyncio.run(run_faults(stack, args))
        total = fill_counts(windows, result, stack.config.database_url)
    finally:
        stack.stop()
        for url in (stack.config.database_url, stack.config.tracker_database_url):
            drop_database(url)
    table = report(windows, total, result)
    print("\n" + table, flush=True)
    broken = total["lost"] + total["reordered"] + total["double_answered"]
    failed = [w.name for w in windows if not w.continues]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "customers": args.customers,
                "think_s": args.think_s,
                "seed": args.seed,
                "wall_s": round(time.monotonic() - started, 1),
                "faults": [{k: v for k, v in asdict(w).items() if k not in ("started", "recovered", "ended")}
                           for w in windows],
                "total": total,
                "reconnects": result.reconnects,
                "errors": result.errors,
                "p50_ms": round(loadgen.percentile(result.latencies_ms, 50), 1),
                "p95_ms": round(loadgen.percentile(result.latencies_ms, 95), 1),
            },
            indent=2,
        )
    )  # fmt: skip
    if not args.no_doc:
        write_doc(table, args)
    print(f"\nchaos: lost {total['lost']}, reordered {total['reordered']}, double-answered "
          f"{total['double_answered']}; recovery checks failed: {', '.join(failed) or 'none'}; "
          f"{time.monotonic() - started:.0f} s in all; {OUT.relative_to(ROOT)}", flush=True)  # fmt: skip
    return 1 if broken or failed else 0


if __name__ == "__main__":
    sys.exit(main())
