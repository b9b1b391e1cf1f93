"""The backend's CPU per customer turn, in process, and where it goes.

    python -m scripts.profile_turn [--turns 300] [--warmup 60] [--repeat 3] [--top 25] [--no-profile]

The real app (`backend.main.create_app`, every background loop running) on a seeded SQLite database like the
bench's private stack (200 customers, no history, the bootstrap's churn and escalation models, the learnt
hand-off policy), built once under var/profile/ and copied for each repetition. Customers open widget
sessions (30% identified shoppers, so CRM reads and churn scoring run) and send the load generator's scripts
(scripts/loadgen.py SCRIPTS) one turn at a time through POST /api/v1/widget/.../messages. Rasa is not a
process here: a scripted bot answers the hub channel with a parse and replies for each text and, like the
action server, calls the backend's service API for knowledge and order turns, because those calls are
backend CPU in the real stack too.

Per repetition it prints the CPU of this process per turn after the warm-up (time.process_time around the
turns: the event loop, aiosqlite's threads and the executors; the harness's own HTTP client is in it too),
split into the event loop's thread and the others, and the SQL statements the app sent per turn; then the
CPU the redaction of those turns' messages costs (the privacy worker's round, run once after the turns
instead of every REDACTION_INTERVAL_S: parent plus its spaCy child process); and the background loops' CPU
per second while idle. Then one more pass of turns under the CPU-weighted sampling profiler
(scripts/profile_sampler.py: every thread, asyncio-aware) and its top entries by cumulative (inclusive) and
by own CPU, in ms per turn.
The machine is shared: compare figures measured back to back, as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import create_engine, event, text

from backend.auth.tokens import customer_hash
from backend.core.config import Settings
from backend.main import create_app
from backend.privacy import service as privacy
from scripts.loadgen import GUEST_EMAIL_TURN, SCRIPTS
from scripts.paths import APP_PYTHON, ROOT, VAR, content_hash
from scripts.profile_sampler import Sampler

WORK = VAR / "profile"
BASE_DB = WORK / "base.db"
BASE_STAMP = WORK / "base.stamp"
SERVICE_TOKEN = "profile-service-token"
IDENTITY_SECRET = "profile-identity-secret"
BACKEND = "http://backend.test"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REDACTION_BATCH = 200
PROJECT_CODE = ("backend/", "knowledge/", "contract/")


# ------------------------------------------------------------------------------------------ the database


def prepare_base(rebuild: bool) -> None:
    """Migrated, seeded (as the bench's private stack: no history) and with production risk models; built
    again when the migrations, the seed or the risk training changed."""
    stamp = content_hash([ROOT / "backend" / "alembic", ROOT / "backend" / "seed.py", ROOT / "ml" / "risk"])
    if BASE_DB.exists() and BASE_STAMP.exists() and BASE_STAMP.read_text() == stamp and not rebuild:
        return
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite:///{BASE_DB}",
        "RISK_MODEL_DIR": str(WORK / "risk_models"),
        "KB_INDEX_DIR": str(WORK / "kb_index"),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
    }
    for step in (
        ["alembic", "upgrade", "head"],
        ["backend.seed", "--history-weeks", "0"],
        ["ml.risk.bootstrap"],
    ):
        subprocess.run([str(APP_PYTHON), "-m", *step], cwd=ROOT, env=env, check=True)
    BASE_STAMP.write_text(stamp)


def fresh_copy(name: str) -> Path:
    """A copy of the base database for one repetition, so every repetition starts from the same rows."""
    path = WORK / f"{name}.db"
    for stale in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(BASE_DB, path)
    return path


def shopper_emails(database: Path, n: int = 50) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        emails = [
            str(r.email)
            for r in conn.execute(text("SELECT email FROM customers ORDER BY id LIMIT :n"), {"n": n})
        ]
    engine.dispose()
    return emails


def settings_for(database: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{database}",
        kb_index_dir=WORK / "kb_index",
        risk_model_dir=WORK / "risk_models",
        rasa_url="http://rasa.test",
        service_token=SERVICE_TOKEN,
        rasa_token="profile-rasa-token",  # production settings refuse to start without one
        secret_key="profile-secret-key-of-at-least-32-bytes!",
        identity_secret=IDENTITY_SECRET,
        # The bench's limits: every simulated customer comes from one address.
        rate_limit_sessions_per_ip="100000/minute",
        rate_limit_messages_per_ip="1000000/minute",
        # Redaction is run and counted apart, after the turns (see the module docstring).
        redaction_interval_s=1e6,
    )


# ------------------------------------------------------------------------------------------ the scripted bot


@dataclass(frozen=True)
class Understood:
    intent: str
    sentiment: tuple[str, float]
    reply: str
    action: str | None = None  # "kb" or "order": the action server's call to the backend


UNDERSTOOD: list[tuple[str, Understood]] = [
    (
        r"ORD-\d+|order|parcel",
        Understood("order_status", ("negative", -0.4), "Let me check that order.", "order"),
    ),
    (r"plan|price|how much", Understood("pricing", ("neutral", 0.0), "Here is what I found.", "kb")),
    (r"password", Understood("reset_password", ("neutral", -0.1), "You can reset it from the sign-in page.")),
    (r"invoice", Understood("invoice_copy", ("neutral", 0.0), "I have sent a copy to your email.")),
    (
        r"payment failed|what should i do",
        Understood("failed_payment", ("negative", -0.5), "Please update your card."),
    ),
    (r"thank|great", Understood("thanks", ("positive", 0.7), "You're welcome!")),
    (r"^bye", Understood("goodbye", ("neutral", 0.1), "Goodbye!")),
    (r"^(hi|hello|hey)", Understood("greet", ("neutral", 0.2), "Hi! How can I help?")),
]
FALLBACK = Understood("nlu_fallback", ("neutral", 0.0), "Sorry, I did not get that.")


def understand(message: str) -> Understood:
    for pattern, understood in UNDERSTOOD:
        if re.search(pattern, message, re.IGNORECASE):
            return understood
    return FALLBACK


class ScriptedBot:
    """Answers the hub channel as Rasa would, calling the service API as the action server would."""

    def __init__(self) -> None:
        self.service: httpx.AsyncClient | None = None  # set once the app runs

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa")
        body = json.loads(request.content)
        understood = understand(body["message"])
        replies = [{"recipient_id": body["sender"], "text": await self._answer(understood, body)}]
        replies.append({"recipient_id": body["sender"], "text": "Anything else?",
                        "buttons": [{"title": "No", "payload": "/deny"}]})  # fmt: skip
        return httpx.Response(200, json={"messages": replies, "parse": parse_of(understood, body)})

    async def _answer(self, understood: Understood, body: dict[str, Any]) -> str:
        assert self.service is not None
        headers = {"X-Service-Token": SERVICE_TOKEN}
        if understood.action == "kb":
            params = {"q": body["message"], "k": 3, "conversation_id": body["sender"]}
            hits = (
                await self.service.get("/api/v1/service/kb/search", params=params, headers=headers)
            ).json()
            return str(hits["results"][0]["title"]) if hits.get("results") else understood.reply
        if understood.action == "order":
            order = re.search(r"ORD-\d+", body["message"])
            if order is not None:
                await self.service.get(f"/api/v1/service/orders/{order.group()}", headers=headers)
        return understood.reply


def parse_of(understood: Understood, body: dict[str, Any]) -> dict[str, Any]:
    order = re.search(r"ORD-\d+", body["message"])
    entities = [{"entity": "order_id", "value": order.group(), "start": order.start(), "end": order.end(),
                 "extractor": "RegexEntityExtractor"}] if order else []  # fmt: skip
    label, score = understood.sentiment
    return {
        "text": body["message"],
        "intent": {"name": understood.intent, "confidence": 0.93},
        "entities": entities,
        "sentiment": {"label": label, "score": score, "confidence": 0.8},
        "message_id": body["message_id"],
    }


# ------------------------------------------------------------------------------------------ the customers


class Customers:
    """Conversations opened and sent turn by turn, one turn at a time (seeded: the same run every time)."""

    def __init__(
        self, client: httpx.AsyncClient, emails: list[str], identified_share: float, seed: int
    ) -> None:
        self.client = client
        self.emails = emails
        self.identified_share = identified_share
        self.rng = random.Random(seed)
        self.pending: list[str] = []
        self.auth: dict[str, str] = {}
        self.conversation = ""

    async def turn(self) -> None:
        if not self.pending:
            await self._open()
        line = self.pending.pop(0)
        response = await self.client.post(
            f"/api/v1/widget/conversations/{self.conversation}/messages",
            json={"text": line, "client_message_id": uuid.uuid4().hex},
            headers=self.auth,
        )
        response.raise_for_status()

    async def _open(self) -> None:
        body: dict[str, str] = {}
        if self.rng.random() < self.identified_share:
            email = self.rng.choice(self.emails)
            body = {"customer_email": email, "customer_hash": customer_hash(email, IDENTITY_SECRET)}
        response = await self.client.post("/api/v1/widget/sessions", json=body)
        response.raise_for_status()
        session = response.json()
        self.conversation, self.auth = (
            session["conversation_id"],
            {"Authorization": f"Bearer {session['token']}"},
        )
        # Its scripted bot asks no e-mail, so the visitor's answer to that question is left out.
        self.pending = [line for line in self.rng.choice(SCRIPTS) if line != GUEST_EMAIL_TURN]


# ------------------------------------------------------------------------------------------ CPU accounting


def _stat_cpu_s(stat_path: Path) -> float:
    """utime + stime of one /proc stat file (fields 14 and 15), in seconds."""
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_cpu_s() -> float:
    """CPU seconds of this process's live child processes (the redaction child), read from /proc."""
    total = 0.0
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                total += _stat_cpu_s(Path(f"/proc/{pid}/stat"))
    return total


@dataclass
class Sample:
    turns: int
    process_ms_per_turn: float
    loop_thread_ms_per_turn: float
    redaction_ms_per_turn: float
    idle_ms_per_s: float
    statements_per_turn: float

    def line(self, label: str) -> str:
        return (
            f"{label}: backend CPU {self.process_ms_per_turn:5.2f} ms/turn (event loop thread "
            f"{self.loop_thread_ms_per_turn:5.2f}, other threads "
            f"{self.process_ms_per_turn - self.loop_thread_ms_per_turn:5.2f}) | redaction "
            f"{self.redaction_ms_per_turn:5.2f} ms/turn | background loops idle "
            f"{self.idle_ms_per_s:4.1f} ms/s | {self.statements_per_turn:4.1f} SQL statements/turn | "
            f"{self.turns} turns"
        )


async def run_turns(customers: Customers, n: int) -> None:
    for _ in range(n):
        await customers.turn()


async def redact_backlog(app: FastAPI) -> None:
    """What the privacy loop's rounds would do for the messages stored so far."""
    async with app.state.sessions() as session:
        while await privacy.redact_pending(session, app.state.settings, REDACTION_BATCH) >= REDACTION_BATCH:
            pass


async def measured(work: Callable[[], Any]) -> tuple[float, float, float]:
    """(process, this thread, children) CPU seconds spent while awaiting `work()`."""
    started = time.process_time(), time.thread_time(), children_cpu_s()
    await work()
    return (
        time.process_time() - started[0],
        time.thread_time() - started[1],
        children_cpu_s() - started[2],
    )


@contextlib.contextmanager
def statements_sent(app: FastAPI) -> Iterator[list[int]]:
    """How many SQL statements the app sends to its database meanwhile (every session, background loops
    included): a count the shared machine's load does not blur, unlike CPU time."""
    count = [0]

    def one_more(*_: object) -> None:
        count[0] += 1

    engine = app.state.sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", one_more)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", one_more)


@contextlib.asynccontextmanager
async def running_app(database: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    bot = ScriptedBot()
    app = create_app(settings_for(database), rasa_transport=httpx.MockTransport(bot.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BACKEND) as client:
            bot.service = client
            yield app, client


async def one_repetition(args: argparse.Namespace, index: int) -> Sample:
    database = fresh_copy(f"run-{index}")
    async with running_app(database) as (app, client):
        customers = Customers(client, shopper_emails(database), args.identified_share, args.seed)
        await run_turns(customers, args.warmup)
        await redact_backlog(app)  # starts the redaction child and loads spaCy outside the measurement
        with statements_sent(app) as statements:
            process_s, loop_s, _ = await measured(lambda: run_turns(customers, args.turns))
        parent_s, _, child_s = await measured(lambda: redact_backlog(app))
        idle_s, _, _ = await measured(lambda: asyncio.sleep(args.idle_s))
    return Sample(
        turns=args.turns,
        process_ms_per_turn=process_s * 1000 / args.turns,
        loop_thread_ms_per_turn=loop_s * 1000 / args.turns,
        redaction_ms_per_turn=(parent_s + child_s) * 1000 / args.turns,
        idle_ms_per_s=idle_s * 1000 / args.idle_s if args.idle_s else 0.0,
        statements_per_turn=statements[0] / args.turns,
    )


async def profiled(args: argparse.Namespace) -> str:
    """One more pass of turns under the sampling profiler (scripts/profile_sampler.py)."""
    database = fresh_copy("profiled")
    async with running_app(database) as (_, client):
        customers = Customers(client, shopper_emails(database), args.identified_share, args.seed)
        await run_turns(customers, args.warmup)
        with Sampler() as sampler:
            await run_turns(customers, args.turns)
    return sampler.report(args.top, args.turns, PROJECT_CODE)


def summary(samples: list[Sample]) -> str:
    in_process = statistics.median(s.process_ms_per_turn for s in samples)
    redaction = statistics.median(s.redaction_ms_per_turn for s in samples)
    return (
        f"median over {len(samples)}: backend CPU {in_process:.2f} ms/turn in process + {redaction:.2f} ms "
        f"redaction = {in_process + redaction:.2f} ms/turn"
    )


def log_to_file() -> None:
    """The backend's INFO lines (one per request and per answered turn, part of its CPU as in production)
    go to var/profile/backend.log instead of the terminal."""
    handler = logging.FileHandler(WORK / "backend.log", mode="w")
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=300, help="measured turns per repetition")
    parser.add_argument(
        "--warmup", type=int, default=60, help="turns before measuring (caches, models, pools)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--identified-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--idle-s", type=float, default=3.0, help="idle seconds to time the background loops")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled pass")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the base database and models")
    args = parser.parse_args()
    prepare_base(args.rebuild)
    log_to_file()
    samples = []
    for index in range(args.repeat):
        samples.append(asyncio.run(one_repetition(args, index)))
        print(samples[-1].line(f"repetition {index + 1}"), flush=True)
    if samples:
        print(summary(samples), flush=True)
    if not args.no_profile:
        print("\n" + asyncio.run(profiled(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
