"""Agent assist, measured: suggested replies on hand-labelled hand-off situations, and the share of hand-off
briefs whose every statement is supported. Run: python -m ml.eval_assist (make eval-assist).

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

Hand-off briefs (`--part briefs`): on the demo's seeded history (`make run`'s, backend/seed_history.py),
every resolved case's brief through the product's path (backend/assist/brief.py), each statement checked
against the stored rows it cites by ml/brief_support.py, a verifier that shares no code with the brief. Split
by conversation: a seeded conversation is a copy of a hand-labelled dev conversation (each used twice), so it
goes to the split of that source conversation's id (the rule above), and copies never straddle the split.
Printed per split: the share of briefs whose every statement is supported, the share of statements, and each
unsupported statement with what was wrong. Nothing is fitted on either split; the verifier's reading of the
templates was written looking at dev briefs only.

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
from sqlalchemy import create_engine, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from backend.assist import brief as briefs
from backend.assist import service
from backend.assist.index import AssistIndex
from backend.assist.schemas import BriefOut
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings, to_async_url, to_sync_url
from backend.core.database import make_engine, make_sessionmaker
from backend.kb.indexing import KnowledgeRuntime
from backend.seed import seed
from backend.seed_articles import ARTICLES
from backend.seed_history import SeedConversation, dev_conversations, seed_history
from knowledge.lexical import LexicalIndex
from ml import brief_support
from scripts.paths import ROOT, VAR

DATA = Path(__file__).resolve().parent / "data" / "assist_eval.yml"
OUT = VAR / "eval" / "assist.json"
SPLITS = ("dev", "test")
SHOWN = 5  # the inbox asks for 5 (backend/assist/views.py)
ID = re.compile(r"^[ps]\d{3,}$")
SEEDED = "seeded"  # the topic of a seeded history's templated reply: useful to no one
POOLS = ("hand-written", "with history")
PARTS = ("suggestions", "briefs")
SHOWN_UNSUPPORTED = 12  # unsupported statements printed (all are in the JSON report)


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


# ----- hand-off briefs: is every statement supported by what is stored? -----


@dataclass(frozen=True)
class CheckedBrief:
    case_id: int
    split: str
    source: str
    verdicts: list[brief_support.Verdict]

    @property
    def supported(self) -> bool:
        return all(v.supported for v in self.verdicts)


def labelled_source(customer_texts: Sequence[str], labelled: Sequence[SeedConversation]) -> str | None:
    """The hand-labelled conversation a seeded one copies: the one whose turns start with its customer
    messages (a copy stops at its hand-off); of several, the smallest id, so every copy agrees."""
    texts = list(customer_texts)
    matches = [c.id for c in labelled if [t.text for t in c.turns[: len(texts)]] == texts]
    return min(matches) if matches else None


async def _built_briefs(settings: Settings) -> list[tuple[int, str, dict[str, Any]]]:
    """Every resolved case's brief, as the brief route returns it."""
    engine = make_engine(to_async_url(settings.database_url))
    try:
        async with make_sessionmaker(engine)() as session:
            query = select(Case).where(Case.status == "resolved").order_by(Case.id)
            cases = list((await session.execute(query)).scalars())
            return [
                (
                    c.id,
                    c.conversation_id,
                    BriefOut.model_validate(asdict(await briefs.build(session, c))).model_dump(),
                )
                for c in cases
            ]
    finally:
        await engine.dispose()


def _stored(connection: Any, case_id: int, conversation_id: str) -> brief_support.Stored:
    """The rows a brief may cite, read with plain SQL (not the brief's ORM objects)."""

    def read(sql: str, **params: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in connection.execute(text(sql), params)]

    messages = read("SELECT * FROM messages WHERE conversation_id = :c ORDER BY id", c=conversation_id)
    (case,) = read("SELECT * FROM cases WHERE id = :i", i=case_id)
    handoffs = read(
        "SELECT * FROM decisions WHERE kind = 'handoff' AND conversation_id = :c ORDER BY id",
        c=conversation_id,
    )
    return brief_support.Stored({m["id"]: m for m in messages}, case, handoffs)


def check_briefs(settings: Settings) -> list[CheckedBrief]:
    labelled = dev_conversations()
    built = asyncio.run(_built_briefs(settings))
    engine = create_engine(to_sync_url(settings.database_url))
    checked = []
    try:
        with engine.connect() as connection:
            for case_id, conversation_id, brief in built:
                stored = _stored(connection, case_id, conversation_id)
                asked = [m["text"] for m in stored.handed_over().values() if m["sender"] == "customer"]
                source = labelled_source(asked, labelled)
                if source is None:
                    raise RuntimeError(f"case {case_id}: no labelled conversation starts with {asked[:2]}")
                verdicts = brief_support.verify(brief, stored)
                checked.append(CheckedBrief(case_id, split_of(source), source, verdicts))
    finally:
        engine.dispose()
    return checked


def brief_report(checked: Sequence[CheckedBrief]) -> dict[str, Any]:
    """Per split: briefs, the share with every statement supported, statements supported per section; and
    every unsupported statement."""
    report: dict[str, Any] = {"splits": {}, "unsupported": []}
    for split in SPLITS:
        mine = [c for c in checked if c.split == split]
        verdicts = [v for c in mine for v in c.verdicts]
        sections = Counter(v.statement["section"] for v in verdicts)
        held = Counter(v.statement["section"] for v in verdicts if v.supported)
        report["splits"][split] = {
            "briefs": len(mine),
            "source_conversations": len({c.source for c in mine}),
            "all_supported": round(sum(c.supported for c in mine) / len(mine), 3) if mine else None,
            "empty_briefs": sum(not c.verdicts for c in mine),
            "statements": len(verdicts),
            "statements_supported": round(sum(held.values()) / len(verdicts), 3) if verdicts else None,
            "by_section": {k: f"{held[k]}/{n}" for k, n in sorted(sections.items())},
        }
    for c in checked:
        for v in c.verdicts:
            if not v.supported:
                report["unsupported"].append(
                    {"split": c.split, "case_id": c.case_id, "section": v.statement["section"],
                     "text": v.statement["text"], "problems": v.problems}
                )  # fmt: skip
    return report


def print_briefs(report: dict[str, Any]) -> None:
    print("\nhand-off briefs of the resolved cases of the seeded history (split by source conversation):")
    for split, f in report["splits"].items():
        sections = ", ".join(f"{k} {v}" for k, v in f["by_section"].items())
        print(
            f"{split:<5} briefs {f['briefs']} (of {f['source_conversations']} labelled conversations)  "
            f"every statement supported: {f['all_supported']}  "
            f"statements supported {f['statements_supported']} of {f['statements']} ({sections})"
            f"  empty briefs {f['empty_briefs']}"
        )
    unsupported = report["unsupported"]
    print(f"unsupported statements: {len(unsupported)}", *(
        f"[{u['split']}] case {u['case_id']} {u['section']}: {u['text'][:90]!r}: {'; '.join(u['problems'])}"
        for u in unsupported[:SHOWN_UNSUPPORTED]
    ), sep="\n  ")  # fmt: skip


def measure_briefs(settings: Settings) -> dict[str, Any]:
    report = brief_report(check_briefs(settings))
    print_briefs(report)
    return report


def _settings_for(tmp: str) -> tuple[str, Settings]:
    url = f"sqlite:///{Path(tmp) / 'assist.db'}"
    return url, Settings().model_copy(update={"database_url": url, "kb_index_dir": Path(tmp) / "kb_index"})


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--pool",
        choices=(*POOLS, "both"),
        default="both",
        help="past replies indexed: the hand-written ones, or those beside the demo's seeded history",
    )
    parser.add_argument(
        "--part", choices=(*PARTS, "both"), default="both", help="suggested replies, hand-off briefs, or both"
    )
    args = parser.parse_args(argv)
    parts = PARTS if args.part == "both" else (args.part,)
    report: dict[str, Any] = {}
    if "suggestions" in parts:
        report |= suggestions_part(args, measure_briefs_too="briefs" in parts)
    if "briefs" in parts and "briefs" not in report:
        with tempfile.TemporaryDirectory(prefix="eval-assist-") as tmp:
            url, settings = _settings_for(tmp)
            _migrate_and_seed(url, settings, history=True)
            report["briefs"] = measure_briefs(settings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    print(f"wrote {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT}")
    return report


def suggestions_part(args: argparse.Namespace, measure_briefs_too: bool) -> dict[str, Any]:
    """Suggested replies per pool; the briefs too, on the pool seeded with history, before the hand-written
    past cases join it (they are resolved cases without a bot turn)."""
    report: dict[str, Any] = {}
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
            url, settings = _settings_for(tmp)
            _migrate_and_seed(url, settings, history)
            if history and measure_briefs_too:
                report["briefs"] = measure_briefs(settings)
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
    return report | {"data": str(args.data), "shown": SHOWN, "frequent": fixed, "figures": results}


if __name__ == "__main__":
    main()
