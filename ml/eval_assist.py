"""Suggested replies, measured on hand-labelled hand-off situations. Run: python -m ml.eval_assist
(make eval-assist).

Why not the seeded history: its agent replies are one template (backend/seed_history.py `_case`: "Hi, this is
{first name}. I've read the conversation and I'm on it."), the same in every case, so "the agent's actual
reply among the suggestions" would measure nothing. Instead ml/data/assist_eval.yml holds resolved cases
written as an agent of the shop would have answered them (`past`, the past-replies pool) and other customers'
hand-off situations (`situations`), each labelled with the topics that would help (article slugs or reply
topics), by the rules of docs/labelling.md section 6, without running the suggester.

Through the product's own path: a temporary SQLite database is migrated and seeded as the demo (its
articles), the backend's `KnowledgeRuntime` opens the knowledge index, the past cases are written as resolved
conversations, `AssistIndex.sync()` takes them in (PII-redacted by the privacy redactor, as in the app), and
every situation goes through `backend.assist.service.suggestions` with the inbox's default k (5).

Figures per split (sha256(situation id) first byte even -> test, odd -> dev): hit@1, hit@3, MRR over the 5
shown, and the share of situations with no useful suggestion among them. Nothing is tuned here: the reply
similarity floor and the ranking were set before this set existed. Compared with:
- `kb only` / `replies only`: the product's two sources alone (what each contributes);
- `bm25`: BM25 (knowledge/lexical.py) over the articles and the past customer messages, one ranking;
- `frequent`: the same 5 suggestions for everyone: the articles most often in `use` on dev (a fixed macro
  list, chosen on dev).

Writes var/eval/assist.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from backend.assist import service
from backend.assist.index import AssistIndex
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings, to_async_url, to_sync_url
from backend.core.database import make_engine, make_sessionmaker
from backend.kb.indexing import KnowledgeRuntime
from backend.seed import seed
from backend.seed_articles import ARTICLES
from backend.seed_history import seed_history
from knowledge.lexical import LexicalIndex
from scripts.paths import ROOT, VAR

DATA = Path(__file__).resolve().parent / "data" / "assist_eval.yml"
OUT = VAR / "eval" / "assist.json"
SPLITS = ("dev", "test")
SHOWN = 5  # the inbox asks for 5 (backend/assist/views.py)
ID = re.compile(r"^[ps]\d{3,}$")
SEEDED = "seeded"  # the topic of a seeded history's templated reply: useful to no one
POOLS = ("hand-written", "with history")


@dataclass(frozen=True)
class PastCase:
    id: str
    topic: str
    question: str
    reply: str


@dataclass(frozen=True)
class Situation:
    id: str
    text: str
    use: tuple[str, ...]

    @property
    def split(self) -> str:
        return split_of(self.id)


@dataclass(frozen=True)
class EvalSet:
    topics: dict[str, str]  # reply topics without an article: definitions
    past: tuple[PastCase, ...]
    situations: tuple[Situation, ...]


def split_of(item_id: str) -> str:
    return "test" if hashlib.sha256(item_id.encode()).digest()[0] % 2 == 0 else "dev"


def load(path: Path = DATA) -> EvalSet:
    """The set, checked: ids unique and well formed, every topic an article slug or a defined topic."""
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    topics = dict(body["topics"])
    known = set(topics) | {slug for slug, *_ in ARTICLES}
    seen: set[str] = set()

    def check(item_id: str, used: Sequence[str]) -> None:
        if not ID.match(item_id) or item_id in seen:
            raise ValueError(f"{path}: missing, malformed or repeated id {item_id!r}")
        seen.add(item_id)
        if not used or set(used) - known:
            raise ValueError(f"{path}: {item_id}: unknown or missing topics {sorted(set(used) - known)}")

    past = []
    for row in body["past"]:
        check(str(row["id"]), [row["topic"]])
        past.append(PastCase(str(row["id"]), row["topic"], row["question"].strip(), row["reply"].strip()))
    situations = []
    for row in body["situations"]:
        check(str(row["id"]), row["use"])
        situations.append(Situation(str(row["id"]), row["text"].strip(), tuple(row["use"])))
    return EvalSet(topics, tuple(past), tuple(situations))


# ----- scoring -----


@dataclass(frozen=True)
class Figures:
    split: str
    ranker: str
    situations: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    no_useful: float  # share with no useful suggestion among the SHOWN

    def line(self) -> str:
        return (
            f"{self.split:<5} {self.ranker:<13} n={self.situations:<3} hit@1 {self.hit_at_1:.3f}  "
            f"hit@3 {self.hit_at_3:.3f}  MRR {self.mrr:.3f}  no useful suggestion {self.no_useful:.3f}"
        )


def figures(split: str, ranker: str, rankings: Sequence[tuple[Situation, Sequence[str]]]) -> Figures:
    """`rankings`: each situation with the topics of its suggestions, best first."""
    ranks = []
    for situation, topics in rankings:
        useful = [n for n, t in enumerate(topics[:SHOWN], 1) if t in situation.use]
        ranks.append(useful[0] if useful else None)
    n = len(ranks)
    return Figures(
        split,
        ranker,
        n,
        round(sum(r == 1 for r in ranks) / n, 3),
        round(sum(r is not None and r <= 3 for r in ranks) / n, 3),
        round(sum(1 / r for r in ranks if r is not None) / n, 3),
        round(sum(r is None for r in ranks) / n, 3),
    )


# ----- the product's path -----


def _migrate_and_seed(url: str, settings: Settings, history: bool) -> None:
    """The demo company (its articles and staff); with `history`, as `make run` seeds it: 200 customers
    and 6 weeks of past conversations, whose cases' agent replies are the seeder's template."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = to_sync_url(url)
    command.upgrade(config, "head")
    engine = create_engine(to_sync_url(url))
    try:
        with Session(engine) as session:
            seed(session, 200 if history else 1, random.Random(7))
    finally:
        engine.dispose()
    if history:
        asyncio.run(_history(settings))


async def _history(settings: Settings) -> None:
    engine = make_engine(to_async_url(settings.database_url))
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=31)  # before the past cases
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await seed_history(session, random.Random(7), end, settings)
    finally:
        await engine.dispose()


def _write_past(url: str, past: Sequence[PastCase]) -> dict[int, str]:
    """Each past case as a resolved conversation: the customer's message, then the agent's reply. Returns
    {agent message id: topic}."""
    engine = create_engine(to_sync_url(url))
    topic_of: dict[int, str] = {}
    start = datetime.now(UTC) - timedelta(days=30)
    try:
        with Session(engine) as session:
            for n, item in enumerate(past):
                at = start + timedelta(hours=n)
                conversation = Conversation(owner="bot", status="resolved", started_at=at, last_message_at=at)
                session.add(conversation)
                session.flush()
                asked = Message(
                    conversation_id=conversation.id, sender="customer", text=item.question, created_at=at
                )
                opened = at + timedelta(seconds=30)
                case = Case(
                    conversation_id=conversation.id,
                    reason="asked for a person",
                    status="resolved",
                    created_at=opened,
                    accepted_at=opened,
                    resolved_at=opened + timedelta(minutes=10),
                    disposition="solved",
                )
                reply = Message(
                    conversation_id=conversation.id,
                    sender="agent",
                    text=item.reply,
                    created_at=opened + timedelta(minutes=2),
                )
                session.add_all([asked, case, reply])
                session.flush()
                topic_of[reply.id] = item.topic
            session.commit()
    finally:
        engine.dispose()
    return topic_of


async def _product_rankings(
    settings: Settings, situations: Sequence[Situation], topic_of: dict[int, str]
) -> tuple[dict[str, list[list[str]]], list[tuple[str, str]]]:
    """Per situation, the topics of the product's suggestions, and of its two sources alone; and the pool
    as indexed: (redacted customer message, topic) of every past reply (`seeded` for the template)."""
    engine = make_engine(to_async_url(settings.database_url))
    sessions = make_sessionmaker(engine)
    kb = KnowledgeRuntime(sessions, settings)
    try:
        await kb.open()
        await kb.close()  # stops its background loops; the index stays usable in memory
        if kb.index is None:
            raise RuntimeError(kb.error or "the knowledge index did not open")
        kb.index.embedder.load()
        index = AssistIndex(sessions, settings)
        started = time.perf_counter()
        await index.sync()
        built = time.perf_counter() - started
        restarted = AssistIndex(sessions, settings)  # a process start: the saved files are there now
        started = time.perf_counter()
        await restarted.sync()
        loaded = time.perf_counter() - started
        print(
            f"past-replies index: {len(index.cases.records)} cases, {len(index.replies.records)} replies; "
            f"built in {built:.1f} s ({index.encoded} texts encoded, {index.opened}); a restart: "
            f"{loaded:.2f} s ({restarted.encoded} encoded, {restarted.opened})"
        )
        outside = Case(id=-1, conversation_id="eval-situation", customer_id=None)
        found: dict[str, list[list[str]]] = {"product": [], "kb only": [], "replies only": []}
        async with sessions() as session:
            for situation in situations:
                kb_part = await service._kb_suggestions(session, kb, situation.text, SHOWN)
                replies = await service._reply_suggestions(index, outside, situation.text, SHOWN)
                both = sorted([*kb_part, *replies], key=lambda s: s.score, reverse=True)[:SHOWN]
                found["product"].append([_topic(s.id, topic_of) for s in both])
                found["kb only"].append([_topic(s.id, topic_of) for s in kb_part])
                found["replies only"].append([_topic(s.id, topic_of) for s in replies])
        pool = [(r.question, topic_of.get(r.message_id, SEEDED)) for r in index.replies.records.values()]
        return found, pool
    finally:
        await engine.dispose()


def _topic(suggestion_id: str, topic_of: dict[int, str]) -> str:
    kind, _, key = suggestion_id.partition(":")
    return key if kind == "kb" else topic_of.get(int(key), SEEDED)


# ----- baselines -----


def bm25_rankings(pool: Sequence[tuple[str, str]], situations: Sequence[Situation]) -> list[list[str]]:
    """One BM25 ranking over the articles (title and body) and the past customer messages (what the product
    compares a question with); a past message stands for its reply's topic; one suggestion per item."""
    lexical = LexicalIndex()
    topics: list[str] = []
    for slug, title, _, body in ARTICLES:
        lexical.put(len(topics), f"{title}\n{body}")
        topics.append(slug)
    for question, topic in pool:
        lexical.put(len(topics), question)
        topics.append(topic)
    lexical.refresh(wait=True)
    return [[topics[i] for i, _ in lexical.search(s.text, SHOWN)] for s in situations]


def frequent_topics(situations: Sequence[Situation]) -> list[str]:
    """The SHOWN topics most often in `use` among the dev situations (ties by name): a fixed macro list."""
    counts = Counter(t for s in situations if s.split == "dev" for t in s.use)
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:SHOWN]]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--pool",
        choices=(*POOLS, "both"),
        default="both",
        help="past replies indexed: the hand-written ones, or those beside the demo's seeded history",
    )
    args = parser.parse_args(argv)
    data = load(args.data)
    situations = list(data.situations)
    print(
        f"{args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data}: "
        f"{len(data.past)} past cases, {len(situations)} situations "
        + ", ".join(f"{s} {sum(x.split == s for x in situations)}" for s in SPLITS)
    )
    fixed = frequent_topics(situations)
    print(f"suggestions shown: {SHOWN}; `frequent` = {fixed} (chosen on dev)")
    results = []
    for pool_name in POOLS if args.pool == "both" else (args.pool,):
        history = pool_name == "with history"
        with tempfile.TemporaryDirectory(prefix="eval-assist-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'assist.db'}"
            settings = Settings().model_copy(
                update={"database_url": url, "kb_index_dir": Path(tmp) / "kb_index"}
            )
            _migrate_and_seed(url, settings, history)
            topic_of = _write_past(url, data.past)
            rankings, pool = asyncio.run(_product_rankings(settings, situations, topic_of))
        rankings["bm25"] = bm25_rankings(pool, situations)
        rankings["frequent"] = [fixed for _ in situations]
        seeded = sum(t == SEEDED for _, t in pool)
        print(
            f"\npool {pool_name!r}: {len(pool) - seeded} hand-written past replies"
            + (f" + {seeded} seeded (templated) ones" if history else "")
        )
        for split in SPLITS:
            for ranker, ranked in rankings.items():
                chosen = [(s, r) for s, r in zip(situations, ranked, strict=True) if s.split == split]
                result = figures(split, ranker, chosen)
                results.append({"pool": pool_name, **asdict(result)})
                print(result.line())
            print()
        missed = [
            (s.id, s.use, r[:3])
            for s, r in zip(situations, rankings["product"], strict=True)
            if s.split == "dev" and not set(r[:SHOWN]) & set(s.use)
        ]
        print("dev situations with no useful suggestion (id, use, top 3):", *missed, sep="\n  ")
    report = {
        "data": str(args.data),
        "shown": SHOWN,
        "frequent": fixed,
        "figures": results,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(f"wrote {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT}")
    return report


if __name__ == "__main__":
    main()
