"""The demo's seeded past (backend/seed_history.py): deterministic for a seed, spread over the weeks, with
cases, hand-off decisions that have outcomes and feedback, only dev conversations, and customers that differ
enough for the segments to find groups."""

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from backend import seed
from backend.analytics import segments
from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings, get_settings
from backend.decisions.models import Decision
from backend.seed_history import DATA_DIR, dev_conversations, seed_history
from ml.decision_labels import export
from tests.conftest import copy_sqlite, migrate

pytestmark = pytest.mark.integration

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WEEKS = 4


def _run(path: Path, body: Callable[[AsyncSession], Coroutine[Any, Any, Any]]) -> Any:
    async def go() -> Any:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await body(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _seeded(seeded_sqlite: Path, target: Path, seed: int, copies: int = 1) -> Path:
    copy_sqlite(seeded_sqlite, target)
    settings = Settings(database_url=f"sqlite:///{target}")
    _run(target, lambda s: seed_history(s, random.Random(seed), END, settings, weeks=WEEKS, copies=copies))
    return target


async def _dump(session: AsyncSession) -> list[tuple]:
    """Everything the history decides, ids of conversations left out (they are random uuids)."""
    found: list[tuple] = []
    conversations = (await session.execute(select(Conversation).order_by(Conversation.started_at))).scalars()
    for c in conversations:
        texts = (
            await session.execute(
                select(
                    Message.sender, Message.text, Message.intent, Message.sentiment_score, Message.created_at
                )
                .where(Message.conversation_id == c.id)
                .order_by(Message.id)
            )
        ).all()
        found.append((c.customer_id, c.started_at, c.status, tuple(texts)))
    cases = await session.execute(
        select(Case.customer_id, Case.skill, Case.disposition, Case.csat).order_by(Case.id)
    )
    found += [tuple(row) for row in cases]
    rows = await session.execute(
        select(Decision.kind, Decision.action, Decision.feedback_label, Decision.outcome).order_by(
            Decision.id
        )
    )
    found += [tuple(map(str, row)) for row in rows]
    return found


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path) -> Path:
    return _seeded(seeded_sqlite, tmp_path_factory.mktemp("history") / "history.db", seed=7, copies=2)


@pytest.mark.slow  # seeds three histories
def test_the_same_seed_gives_the_same_history_and_another_seed_another(
    history: Path, seeded_sqlite: Path, tmp_path: Path
) -> None:
    again = _seeded(seeded_sqlite, tmp_path / "again.db", seed=7, copies=2)
    other = _seeded(seeded_sqlite, tmp_path / "other.db", seed=8, copies=2)
    first = _run(history, _dump)
    assert first and _run(again, _dump) == first
    assert _run(other, _dump) != first


def test_the_history_spans_the_weeks_with_cases_decisions_outcomes_and_feedback(history: Path) -> None:
    async def read(session: AsyncSession) -> tuple[list, list, list, list]:
        starts = list((await session.execute(select(Conversation.started_at))).scalars())
        cases = list((await session.execute(select(Case))).scalars())
        handoffs = list((await session.execute(select(Decision).where(Decision.kind == "handoff"))).scalars())
        return starts, cases, handoffs, await export(session)

    starts, cases, handoffs, labelled = _run(history, read)
    weeks = Counter(int((END - s).total_seconds() // (7 * 86400)) for s in starts)
    assert set(weeks) == set(range(WEEKS)), "every week has conversations, none outside the weeks"
    assert min(weeks.values()) > 0.5 * max(weeks.values())
    # Cases: with agents, mostly resolved with a disposition, some rated, a few still open.
    assert len(cases) > 20 and all(c.assigned_agent_id is not None for c in cases)
    resolved = [c for c in cases if c.status == "resolved"]
    assert all(c.disposition for c in resolved) and any(c.csat for c in resolved)
    assert len({c.csat for c in resolved if c.csat}) >= 3
    # Every hand-off decision has an outcome; those older than the 7-day window are final.
    assert handoffs and all(d.outcome is not None for d in handoffs)
    assert all(d.outcome_final for d in handoffs if d.created_at < END - timedelta(days=7))
    assert {d.action for d in handoffs} == {"handoff", "continue"}
    # Feedback on a share, both labels, and it reaches the training rows (a person's label first).
    labels = Counter(d.feedback_label for d in handoffs if d.feedback_label)
    assert labels["needed"] > 0 and labels["not_needed"] > 0
    assert 0.05 < sum(labels.values()) / len(handoffs) < 0.6
    assert sum(r.source == "feedback" for r in labelled) == sum(labels.values())
    assert any(r.source == "outcome" for r in labelled)


def test_feedback_is_the_labelled_decision_of_its_turn(history: Path) -> None:
    labelled = {t.text: t.handoff for c in dev_conversations() for t in c.turns}

    async def read(session: AsyncSession) -> list[tuple[str, str]]:
        query = (
            select(Message.text, Decision.feedback_label)
            .join(Message, Message.id == Decision.message_id)
            .where(Decision.kind == "handoff", Decision.feedback_label.is_not(None))
        )
        return [tuple(row) for row in await session.execute(query)]

    found = _run(history, read)
    assert found
    # A text repeated with two labels in the sets would make this ambiguous: only unambiguous ones count.
    assert all(label == ("needed" if labelled[text] else "not_needed") for text, label in found)


def test_only_dev_conversations_are_seeded(history: Path) -> None:
    test_texts = {t["text"] for c in yaml.safe_load((DATA_DIR / "set_c.yml").read_text())["conversations"]
                  for t in c["turns"]}  # fmt: skip
    dev_texts = {t.text for c in dev_conversations() for t in c.turns}

    async def read(session: AsyncSession) -> set[str]:
        query = select(Message.text).where(Message.sender == "customer")
        return set((await session.execute(query)).scalars())

    seeded = _run(history, read)
    assert seeded <= dev_texts
    assert not (seeded & (test_texts - dev_texts))


def test_customers_differ_enough_for_segments(history: Path, seeded_sqlite: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{history}")

    def features(path: Path) -> np.ndarray:
        return _run(path, lambda s: segments.load(s, END, settings))[0]

    before, after = features(seeded_sqlite), features(history)
    contacts, sentiment, csat = (
        segments.FEATURES.index(f) for f in ("contacts_90d", "sentiment_30d", "csat_avg")
    )
    assert np.all(before[:, contacts] == 0)  # no history: nothing to tell customers apart by
    assert np.all(before[:, sentiment] == 0)
    assert after[:, contacts].std() > 0.5 and np.nanstd(after[:, sentiment]) > 0.03
    assert np.isfinite(after[:, csat]).sum() >= 5
    result = segments.segment(after, np.zeros(len(after)), "predicted")
    assert result.k >= 2
    assert max(s.size for s in result.segments) < 0.9 * result.customers


@pytest.mark.slow  # runs the seed command twice
def test_the_seed_command_adds_the_history_only_when_asked_and_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(path: Path, *args: str) -> list[int]:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
        get_settings.cache_clear()
        monkeypatch.setattr("sys.argv", ["backend.seed", "--customers", "12", *args])
        try:
            seed.main()
        finally:
            get_settings.cache_clear()

        async def count(session: AsyncSession) -> list[int]:
            return [len((await session.execute(select(m.id))).all()) for m in (Conversation, Decision)]

        return _run(path, count)

    plain, past = tmp_path / "plain.db", tmp_path / "past.db"
    migrate(f"sqlite:///{plain}")
    copy_sqlite(plain, past)
    assert run(plain, "--history-weeks", "0") == [0, 0]
    conversations, decided = run(past, "--history-weeks", "2")
    assert conversations > 100 and decided > conversations
    assert "seeded 2 weeks of history" in capsys.readouterr().out
    assert run(past, "--history-weeks", "2") == [
        conversations,
        decided,
    ]  # an already seeded database: skipped
