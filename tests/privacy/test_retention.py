"""The retention purge on a real database: only closed conversations idle past the retention lose their
words, in batches, once, audited as a system action; the rows and their intents stay."""

import asyncio
import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.core.config import Settings, to_sync_url
from backend.core.database import make_engine, make_sessionmaker, utcnow
from backend.privacy import purge
from backend.privacy.purge import PURGED_TEXT, PurgeResult
from tests.dbcheck import execute, rows
from tests.privacy.conftest import SAID, hand_off, say, widget_for


def run_purge(settings: Settings, batch_size: int = 1) -> PurgeResult:
    async def go() -> PurgeResult:
        engine = make_engine(settings.async_database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await purge.purge_expired(session, settings, batch_size=batch_size)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def age(database_url: str, conversation_id: str, days: int) -> None:
    """Move a conversation and its messages `days` into the past."""
    then = utcnow() - timedelta(days=days)
    execute(
        database_url,
        "UPDATE conversations SET last_message_at = :t, started_at = :t WHERE id = :c",
        t=then,
        c=conversation_id,
    )
    execute(
        database_url,
        "UPDATE messages SET created_at = :t WHERE conversation_id = :c",
        t=then,
        c=conversation_id,
    )


def conversation(client: TestClient) -> str:
    widget = widget_for(client, "demo@northwind.example")
    for text in SAID:
        say(client, widget, text)
    return widget["conversation_id"]


def texts(database_url: str, conversation_id: str) -> set[str]:
    found = rows(database_url, "SELECT text FROM messages WHERE conversation_id = :c", c=conversation_id)
    return {row["text"] for row in found}


def test_old_closed_transcripts_are_purged_once_and_the_rest_is_kept(
    client: TestClient, database_url, settings
):
    old_a, old_b, recent, old_open_case = (conversation(client) for _ in range(4))
    case_id = hand_off(client, old_open_case, f'Customer wrote: "{SAID[0]}"')
    for old in (old_a, old_b, old_open_case):
        age(database_url, old, days=400)
    age(database_url, recent, days=300)

    held = len(
        rows(database_url, "SELECT id FROM messages WHERE conversation_id IN (:a, :b)", a=old_a, b=old_b)
    )
    result = run_purge(settings, batch_size=1)  # one conversation per batch: the loop must go on
    assert (result.conversations, result.messages) == (2, held)
    assert result.trackers_pending == 2  # no tracker store in this test: owed, not pretended
    for old in (old_a, old_b):
        assert texts(database_url, old) == {PURGED_TEXT}
        [row] = rows(database_url, "SELECT transcript_erased_at FROM conversations WHERE id = :c", c=old)
        assert row["transcript_erased_at"] is not None
    # Intents and sentiment stay for analytics and the risk models; entities and the sentence embedding
    # (both derived from the text) go.
    kept = rows(
        database_url,
        "SELECT intent, entities, embedding, text_redacted FROM messages WHERE conversation_id = :c",
        c=old_a,
    )
    assert {r["intent"] for r in kept} >= {"order_status"} and all(r["entities"] is None for r in kept)
    assert all(r["embedding"] is None for r in kept)
    recent_customer = "SELECT embedding FROM messages WHERE conversation_id = :c AND sender = 'customer'"
    assert all(r["embedding"] is not None for r in rows(database_url, recent_customer, c=recent))
    assert {r["text_redacted"] for r in kept} == {PURGED_TEXT}
    assert SAID[0] in texts(database_url, recent) and SAID[0] in texts(database_url, old_open_case)
    assert rows(database_url, "SELECT reason FROM cases WHERE id = :c", c=case_id)[0]["reason"].startswith(
        "Customer"
    )

    [event] = rows(database_url, "SELECT * FROM audit_events WHERE action = 'privacy.retention_purge'")
    after = event["after"] if isinstance(event["after"], dict) else json.loads(event["after"])
    assert event["actor"] == "system" and after["conversations"] == 2 and after["messages"] == held
    assert after["retention_days"] == 365
    owed = rows(database_url, "SELECT conversation_id, reason FROM tracker_erasures ORDER BY conversation_id")
    assert owed == sorted([{"conversation_id": c, "reason": "retention"} for c in (old_a, old_b)], key=str)

    again = run_purge(settings)
    assert again.conversations == 0
    assert (
        len(rows(database_url, "SELECT id FROM audit_events WHERE action = 'privacy.retention_purge'")) == 1
    )


def test_resolved_cases_are_purged_with_their_quoted_reason(client: TestClient, database_url, settings):
    old = conversation(client)
    case_id = hand_off(client, old, f'Customer wrote: "{SAID[0]}"')
    execute(database_url, "UPDATE cases SET status = 'resolved' WHERE id = :c", c=case_id)
    age(database_url, old, days=800)
    assert run_purge(settings).conversations == 1
    assert rows(database_url, "SELECT reason FROM cases WHERE id = :c", c=case_id)[0]["reason"] == PURGED_TEXT
    handoff = rows(
        database_url,
        "SELECT after FROM audit_events WHERE action = 'case.handoff' AND entity_id = :c",
        c=str(case_id),
    )
    after = handoff[0]["after"] if isinstance(handoff[0]["after"], dict) else json.loads(handoff[0]["after"])
    assert after["reason"] == "[erased]" and after["skill"]  # the quote goes, the routing facts stay


def test_free_text_csat_answers_are_purged_and_ratings_kept(client: TestClient, database_url, settings):
    old = conversation(client)
    case_id = hand_off(client, old, "customer asked for a person")
    answers = [
        {"key": "resolved", "kind": "yes_no", "value": 1, "text": None},
        {"key": "comment", "kind": "text", "value": None, "text": f"{SAID[0]} and my phone is 0176 1234567"},
    ]
    with Session(create_engine(to_sync_url(database_url))) as session:
        closed = update(Case).where(Case.id == case_id).values(status="resolved", csat_answers=answers)
        session.execute(closed)
        session.commit()
    age(database_url, old, days=800)
    assert run_purge(settings).conversations == 1
    with Session(create_engine(to_sync_url(database_url))) as session:
        kept = session.get(Case, case_id).csat_answers
    assert kept == [answers[0], {**answers[1], "text": PURGED_TEXT}]


def test_zero_days_keeps_everything(client: TestClient, database_url, settings):
    old = conversation(client)
    age(database_url, old, days=5000)
    result = run_purge(settings.model_copy(update={"transcript_retention_days": 0}))
    assert result == PurgeResult(None, 0, 0, 0, 0) and SAID[0] in texts(database_url, old)


def test_the_command_purges_and_reports(client: TestClient, database_url, settings, monkeypatch, capsys):
    old = conversation(client)
    age(database_url, old, days=40)
    asyncio.run(purge.run(purge.parse(["--days", "30", "--dry-run"]), settings))
    assert "1 closed conversations idle for more than 30 days (dry run)" in capsys.readouterr().out
    assert SAID[0] in texts(database_url, old)
    asyncio.run(purge.run(purge.parse(["--days", "30"]), settings))
    out = capsys.readouterr().out
    assert out.startswith("purged 1 conversations (6 messages)") and "pending 1" in out
    [event] = rows(database_url, "SELECT actor FROM audit_events WHERE action = 'privacy.retention_purge'")
    assert event["actor"] == "cli:privacy.purge"
