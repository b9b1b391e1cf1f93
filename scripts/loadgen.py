"""Load generator: N simulated customers hold multi-turn conversations through the whole stack.

Each customer opens a widget session, connects the WebSocket and sends a scripted conversation, waiting for
each turn's ack (which the backend sends after the bot's replies are stored and pushed) before the next one.
Like the widget, a customer whose connection drops (or whose turn gets no ack in time) reconnects and re-sends
the same message with the same `client_message_id`, so a message is stored and answered once however often
it is sent; a session the backend cannot open yet (database down) is retried.

Think time (`--think-s MEAN`): before each turn after the first, a customer waits an exponentially
distributed time with that mean (capped at 5x the mean; the first turn starts after a uniform 0..MEAN delay
so customers do not all arrive at once). Each customer draws from its own generator seeded from `--seed`, so
a run is reproducible. The default 0 is a closed loop: the next turn is sent as soon as the ack arrives.
`--conversations K` makes each customer hold K conversations one after another.

Reported: turn latency p50/p95/p99 (first send -> ack), messages per second, errors, reconnects, and the
accounting from the database: sent (distinct messages the customers sent), accepted (acked, or stored
although the ack was lost), stored, answered (bot reply, or a human owns the conversation), holding (the bot
could not answer: holding reply, bot_status `failed`), lost (accepted but not stored: must be 0), reordered
(conversations whose stored customer messages are not in the order sent, or whose bot replies are not stored
right after the message they answer: must be 0) and double-answered (a message answered by two turns).

The same texts are then sent to bare Rasa (its REST webhook, same model, no backend), paced the same way,
for the ratio full stack / bare Rasa (`--skip-bare` leaves it out; Rasa must run with the benchmarks'
bot/credentials.bench.yml, as `make bench`'s stacks do: the product's has no `rest` channel), with the
same retry semantics (a failed or timed-out attempt is retried after the same pause, latency from the first
send). `--identified-share F` opens that share of the customers' sessions as identified shoppers (a seeded
customer's email and its identity hash), so CRM reads and churn scoring run as they do for a shop's logged-in
visitors; they ask about an order of their own, and an anonymous visitor gives the order's e-mail address when
the bot asks for it. Only loopback addresses are used; every loop is bounded in count and time.

    python -m scripts.loadgen --backend http://127.0.0.1:8000 --rasa http://127.0.0.1:5005 \\
        --database-url sqlite:///var/supportdesk.db --customers 10 50 200 [--think-s 1.0] \\
        --json var/bench/load.json
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import websockets
from sqlalchemy import bindparam, create_engine, text

from backend.auth.sockets import subprotocols
from backend.auth.tokens import customer_hash
from backend.conversations.hub import HANDOFF_NOTICE
from backend.core.config import DEVELOPMENT_SECRETS, to_sync_url

# The reply to the bot's "What's the email address on the order?", which it asks an anonymous visitor only.
GUEST_EMAIL_TURN = "{order_email}"
# Conversations a support bot really sees; each customer picks one (seeded) and sends it turn by turn
# (`customer_script` makes each one that customer's own). Every order number here is the seed's demo shopper's
# (backend/seed.py), so an anonymous visitor answers the e-mail question with that shopper's address.
SCRIPTS = [
    ["hi", "where is my order ORD-100002?", GUEST_EMAIL_TURN, "thanks", "bye"],
    ["hello", "how do I reset my password?", "ok thank you"],
    ["I need a copy of my invoice", "thanks a lot"],
    ["my payment failed", "what should I do?", "great, thanks"],
    ["hey there", "what plans do you have?", "how much is the pro plan?", "bye"],
    ["my parcel is late", "ORD-100003", GUEST_EMAIL_TURN, "thank you"],
]
GUEST_ORDER_EMAIL = "demo@northwind.example"
_ORDER_NUMBER = re.compile(r"ORD-\d+")
TURN_TIMEOUT_S = 30.0  # no ack by then: reconnect and re-send (the same client_message_id)
MESSAGE_GIVE_UP_S = 120.0  # a message not accepted after this long is given up (counted as an error)
RECONNECT_PAUSE_S = (0.5, 1.5)  # uniform, so customers do not reconnect in lock step
THINK_CAP = 5.0  # think times are capped at this many times the mean


@dataclass
class SentMessage:
    conversation_id: str
    client_message_id: str
    text: str
    first_sent: float  # time.monotonic() of the first attempt
    acked_at: float | None = None
    attempts: int = 0


@dataclass
class RunResult:
    customers: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    reconnects: int = 0
    conversations: list[str] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    wall_s: float = 0.0
    attempt_errors: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def sent(self) -> int:
        return len(self.messages)


class Shopper(NamedTuple):
    """A seeded customer who can open identified sessions, and an order of their own to ask about."""

    email: str
    order: str


def customer_script(script: Sequence[str], own_order: str | None) -> list[str]:
    """What one customer types: an identified shopper asks about their own order and is not asked for an
    e-mail (another customer's order would be refused); an anonymous visitor answers the e-mail question."""
    if own_order is None:
        return [GUEST_ORDER_EMAIL if line == GUEST_EMAIL_TURN else line for line in script]
    return [_ORDER_NUMBER.sub(own_order, line) for line in script if line != GUEST_EMAIL_TURN]


@dataclass(frozen=True)
class Load:
    """What to send: how many customers, their think time, and when to stop starting new turns."""

    backend: str
    customers: int
    seed: int = 11
    think_s: float = 0.0
    conversations: int = 1
    stop: asyncio.Event | None = None
    # Identified shoppers: this share of customers opens its sessions with a seeded customer's email and the
    # host site's hash of it, so the backend reads the CRM and scores churn for them as it does for a shop's
    # logged-in visitors. No `shoppers` (or share 0): every customer is anonymous.
    identified_share: float = 0.0
    shoppers: tuple[Shopper, ...] = ()
    identity_secret: str = ""

    def shopper(self, index: int) -> Shopper | None:
        """Who customer `index` is signed in as, if anyone: decided by its own generator (not the customer's),
        so the texts and think times stay those of the same seed in the full and the bare run."""
        if not self.shoppers or random.Random(self.seed * 7_919 + index).random() >= self.identified_share:
            return None
        return self.shoppers[index % len(self.shoppers)]

    def identity(self, index: int) -> dict[str, str]:
        """The session body of customer `index`."""
        shopper = self.shopper(index)
        if shopper is None:
            return {}
        email = shopper.email
        return {"customer_email": email, "customer_hash": customer_hash(email, self.identity_secret)}

    def script(self, index: int, rng: random.Random) -> list[str]:
        """The next conversation of customer `index`, the same in the full and the bare run."""
        shopper = self.shopper(index)
        return customer_script(rng.choice(SCRIPTS), shopper.order if shopper else None)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class WidgetLink:
    """One customer's WebSocket, reconnected on demand, with the widget's send-until-acked discipline."""

    def __init__(self, url: str, token: str, result: RunResult, rng: random.Random) -> None:
        self._url = url
        self._protocols = subprotocols(token)  # the widget's way: never a token in the URL
        self._result = result
        self._rng = rng
        self._ws: websockets.ClientConnection | None = None

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None

    async def deliver(self, message: SentMessage) -> bool:
        """Send until acked (True), refused with an error frame or given up (False)."""
        frame = json.dumps(
            {"type": "message", "text": message.text, "client_message_id": message.client_message_id}
        )
        give_up_at = message.first_sent + MESSAGE_GIVE_UP_S
        while time.monotonic() < give_up_at:
            try:
                if self._ws is None:
                    self._ws = await websockets.connect(
                        self._url, subprotocols=self._protocols, open_timeout=10
                    )
                message.attempts += 1
                await self._ws.send(frame)
                return await self._await_ack(message)
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self._result.attempt_errors[type(exc).__name__] += 1
                self._result.reconnects += 1
                await self.close()
                await asyncio.sleep(self._rng.uniform(*RECONNECT_PAUSE_S))
        return False

    async def _await_ack(self, message: SentMessage) -> bool:
        assert self._ws is not None
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no ack for {message.client_message_id}")
            frame = json.loads(await asyncio.wait_for(self._ws.recv(), remaining))
            if frame.get("type") == "ack" and frame.get("client_message_id") == message.client_message_id:
                message.acked_at = time.monotonic()
                return True
            if frame.get("type") == "error":
                return False


async def open_session(
    http: httpx.AsyncClient, backend: str, rng: random.Random, body: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """A widget session; retried while the backend cannot open one (e.g. its database is restarting)."""
    give_up_at = time.monotonic() + MESSAGE_GIVE_UP_S
    while time.monotonic() < give_up_at:
        try:
            response = await http.post(f"{backend}/api/v1/widget/sessions", json=body or {})
            if response.is_success:
                return response.json()
        except (httpx.HTTPError, ValueError):
            pass
        await asyncio.sleep(rng.uniform(*RECONNECT_PAUSE_S))
    return None


async def customer(load: Load, index: int, result: RunResult, http: httpx.AsyncClient) -> None:
    rng = random.Random(load.seed * 100_003 + index)
    if load.think_s > 0:
        await _think(load, rng.uniform(0, load.think_s))
    for _ in range(load.conversations):
        if _stopped(load):
            return
        session = await open_session(http, load.backend, rng, load.identity(index))
        if session is None:
            result.errors += 1
            return
        result.conversations.append(session["conversation_id"])
        url = load.backend.replace("http", "ws", 1) + "/ws/widget"
        link = WidgetLink(url, session["token"], result, rng)
        try:
            await _converse(load, session["conversation_id"], load.script(index, rng), link, result, rng)
        finally:
            await link.close()


async def _converse(
    load: Load,
    conversation_id: str,
    script: list[str],
    link: WidgetLink,
    result: RunResult,
    rng: random.Random,
) -> None:
    for turn, line in enumerate(script):
        if turn and load.think_s > 0:
            await _think(load, min(rng.expovariate(1 / load.think_s), THINK_CAP * load.think_s))
        if _stopped(load):
            return
        message = SentMessage(conversation_id, uuid.uuid4().hex, line, time.monotonic())
        result.messages.append(message)
        if not await link.deliver(message):
            result.errors += 1
            return
        result.latencies_ms.append((message.acked_at - message.first_sent) * 1000)  # type: ignore[operator]


def _stopped(load: Load) -> bool:
    return load.stop is not None and load.stop.is_set()


async def _think(load: Load, seconds: float) -> None:
    """A customer's pause, cut short when the run is stopped (a block need not wait out think times)."""
    if load.stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(load.stop.wait(), seconds)


async def run_full_stack(load: Load) -> RunResult:
    result = RunResult(customers=load.customers)
    limits = httpx.Limits(max_connections=load.customers)
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT_S, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(customer(load, i, result, http) for i in range(load.customers)))
        result.wall_s = time.perf_counter() - started
    return result


async def run_bare_rasa(rasa: str, load: Load) -> RunResult:
    """The same conversations, paced the same way (think time, conversations per customer), straight to
    Rasa's REST channel: the floor the full stack is compared with."""
    result = RunResult(customers=load.customers)

    async def one(index: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(load.seed * 100_003 + index)
        if load.think_s > 0:
            await _think(load, rng.uniform(0, load.think_s))
        for _ in range(load.conversations):
            if _stopped(load):
                return
            sender = f"bare-{uuid.uuid4().hex}"
            for turn, line in enumerate(load.script(index, rng)):
                if turn and load.think_s > 0:
                    await _think(load, min(rng.expovariate(1 / load.think_s), THINK_CAP * load.think_s))
                if _stopped(load):
                    return
                message = SentMessage(sender, uuid.uuid4().hex, line, time.monotonic())
                result.messages.append(message)
                if not await _deliver_bare(http, rasa, message, result, rng):
                    result.errors += 1
                    return
                result.latencies_ms.append((message.acked_at - message.first_sent) * 1000)  # type: ignore[operator]

    async with httpx.AsyncClient(
        timeout=TURN_TIMEOUT_S, limits=httpx.Limits(max_connections=load.customers)
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one(i, http) for i in range(load.customers)))
        result.wall_s = time.perf_counter() - started
    return result


def has_rest_channel(rasa: str) -> bool:
    """Whether Rasa serves its `rest` channel (whose GET / answers 200), which only the benchmarks enable."""
    try:
        return httpx.get(f"{rasa}/webhooks/rest/", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


async def _deliver_bare(
    http: httpx.AsyncClient, rasa: str, message: SentMessage, result: RunResult, rng: random.Random
) -> bool:
    """The widget's discipline on Rasa's REST channel: a failed or timed-out attempt is retried after the
    same pause until MESSAGE_GIVE_UP_S from the first send, and the latency counts from that first send, so
    the floor is measured the way the full stack is. (Rasa's REST channel has no message id: a retry after a
    lost response may be answered twice; the tracker does not matter here.) Failed attempts are counted by
    kind in `result.attempt_errors`."""
    give_up_at = message.first_sent + MESSAGE_GIVE_UP_S
    while time.monotonic() < give_up_at:
        message.attempts += 1
        try:
            response = await http.post(
                f"{rasa}/webhooks/rest/webhook",
                json={"sender": message.conversation_id, "message": message.text},
            )
            response.raise_for_status()
            message.acked_at = time.monotonic()
            return True
        except httpx.HTTPStatusError as exc:
            kind = f"http {exc.response.status_code}"
        except httpx.HTTPError as exc:
            kind = type(exc).__name__
        result.attempt_errors[kind] += 1
        result.reconnects += 1
        await asyncio.sleep(rng.uniform(*RECONNECT_PAUSE_S))
    return False


# ---- accounting from the database --------------------------------------------------------------------------
ANSWERED = ("answered", "skipped")
HOLDING = ("failed",)


def stored_rows(database_url: str, conversations: list[str]) -> list[Any]:
    """Every message of these conversations, in id order."""
    if not conversations:
        return []
    engine = create_engine(to_sync_url(database_url))
    query = text(
        "SELECT conversation_id, id, sender, client_message_id, in_reply_to, bot_status, created_at, text "
        "FROM messages WHERE conversation_id IN :ids ORDER BY id"
    ).bindparams(bindparam("ids", expanding=True))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query, {"ids": conversations}))
    finally:
        engine.dispose()


def account(messages: list[SentMessage], rows: list[Any]) -> dict[str, int]:
    """Sent vs accepted vs stored vs answered, and the order and once-only checks (see the module doc)."""
    status_of = {r.client_message_id: r.bot_status for r in rows if r.sender == "customer"}
    stored = [m for m in messages if m.client_message_id in status_of]
    accepted = [m for m in messages if m.acked_at is not None or m.client_message_id in status_of]
    answered = sum(status_of[m.client_message_id] in ANSWERED for m in stored)
    holding = sum(status_of[m.client_message_id] in HOLDING for m in stored)
    return {
        "sent": len(messages),
        "accepted": len(accepted),
        "stored": len(stored),
        "answered": answered,
        "holding": holding,
        "unanswered": len(stored) - answered - holding,
        "lost": sum(m.client_message_id not in status_of for m in accepted),
        "reordered": len(reordered_conversations(messages, rows)),
        "double_answered": len(double_answered(rows)),
    }


def reordered_conversations(messages: list[SentMessage], rows: list[Any]) -> set[str]:
    """Conversations whose customer messages are stored out of the order sent, or where a bot reply is not
    stored after the message it answers and before the customer's next message."""
    sent_order: dict[str, list[str]] = defaultdict(list)
    for m in messages:
        sent_order[m.conversation_id].append(m.client_message_id)
    stored_order: dict[str, list[str]] = defaultdict(list)
    last_customer_row: dict[str, int] = {}
    bad: set[str] = set()
    for r in rows:
        if r.sender == "customer":
            stored_order[r.conversation_id].append(r.client_message_id)
            last_customer_row[r.conversation_id] = r.id
        elif r.sender == "bot" and r.in_reply_to != last_customer_row.get(r.conversation_id):
            bad.add(r.conversation_id)
    for conversation_id, order in stored_order.items():
        expected = [c for c in sent_order[conversation_id] if c in set(order)]
        if order != expected:
            bad.add(conversation_id)
    return bad


def double_answered(rows: list[Any]) -> set[int]:
    """Ids of customer messages answered by more than one turn: one turn stores its replies in one batch with
    one timestamp (the hand-off notice that may follow is left out), so two timestamps mean two answers."""
    batches: dict[int, set[Any]] = defaultdict(set)
    for r in rows:
        if r.sender == "bot" and r.in_reply_to is not None and r.text != HANDOFF_NOTICE:
            batches[r.in_reply_to].add(r.created_at)
    return {message_id for message_id, times in batches.items() if len(times) > 1}


def shoppers(database_url: str, n: int) -> tuple[Shopper, ...]:
    """Up to n seeded customers with their first order, in id order (deterministic for a seeded database;
    the seed gives every customer an order)."""
    query = text(
        "SELECT c.email, MIN(o.order_number) AS order_number FROM customers c "
        "JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email ORDER BY c.id LIMIT :n"
    )
    engine = create_engine(to_sync_url(database_url))
    try:
        with engine.connect() as conn:
            return tuple(Shopper(str(r.email), str(r.order_number)) for r in conn.execute(query, {"n": n}))
    finally:
        engine.dispose()


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
        signed_in = shoppers(args.database_url, n) if args.identified_share > 0 else ()
        load = Load(
            args.backend, n, args.seed, args.think_s, args.conversations,
            identified_share=args.identified_share, shoppers=signed_in, identity_secret=args.identity_secret,
        )  # fmt: skip
        full = await run_full_stack(load)
        counts = account(full.messages, stored_rows(args.database_url, full.conversations))
        row: dict[str, Any] = {
            **summary(full),
            "think_s": args.think_s,
            "reconnects": full.reconnects,
            **counts,
        }
        if not args.skip_bare:
            bare = await run_bare_rasa(args.rasa, load)
            row["bare_rasa"] = summary(bare) | {"failed_attempts": dict(bare.attempt_errors)}
            row["ratio_p50_full_vs_bare"] = round(row["p50_ms"] / row["bare_rasa"]["p50_ms"], 2)
        rows.append(row)
        print_row(row)
    return rows


def print_row(row: dict[str, Any]) -> None:
    line = (
        f"{row['customers']:>4} customers | turns {row['turns']:>5} | p50 {row['p50_ms']:>7.1f} ms | "
        f"p95 {row['p95_ms']:>7.1f} | p99 {row['p99_ms']:>7.1f} | {row['msgs_per_s']:>6.1f} msg/s | "
        f"errors {row['errors']} | sent {row['sent']} accepted {row['accepted']} stored {row['stored']} "
        f"answered {row['answered']} holding {row['holding']} lost {row['lost']} "
        f"reordered {row['reordered']} double-answered {row['double_answered']}"
    )
    if "bare_rasa" in row:
        bare = row["bare_rasa"]
        line += (
            f" | bare Rasa p50 {bare['p50_ms']:.1f} ms p95 {bare['p95_ms']:.1f} | "
            f"full/bare p50 {row['ratio_p50_full_vs_bare']} | bare errors {bare['errors']} "
            f"failed attempts {bare['failed_attempts'] or 0}"
        )
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default="http://127.0.0.1:8000")
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--think-s", type=float, default=0.0, help="mean think time between turns (0: none)")
    parser.add_argument("--conversations", type=int, default=1, help="conversations per customer")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--identified-share", type=float, default=0.0, help="share of customers who are identified shoppers"
    )
    parser.add_argument(
        "--identity-secret",
        default=os.environ.get("IDENTITY_SECRET", DEVELOPMENT_SECRETS["identity_secret"]),
        help="the backend's IDENTITY_SECRET (default: the environment's, else the development one)",
    )
    parser.add_argument("--skip-bare", action="store_true", help="no bare-Rasa comparison run")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.think_s < 0 or args.conversations < 1:
        parser.error("--think-s must be >= 0 and --conversations >= 1")
    for url in (args.backend, args.rasa):
        host = httpx.URL(url).host
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"load is only sent to loopback addresses, not {host}")
    if not args.skip_bare and not has_rest_channel(args.rasa):
        parser.error(
            f"{args.rasa} serves no `rest` channel for the bare-Rasa run: start Rasa with --credentials "
            "credentials.bench.yml (the product's credentials.yml leaves it out), or pass --skip-bare"
        )
    rows = asyncio.run(main_async(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    broken = sum(r["lost"] + r["reordered"] + r["double_answered"] for r in rows)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
