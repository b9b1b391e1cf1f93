"""Driving deciders through the API and reading the decision log from the database."""

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from backend.core.config import to_sync_url
from tests.app_fixtures import default_answer
from tests.dbcheck import rows

Answer = Callable[[dict], dict]


def send(client: TestClient, widget: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        json={"text": text},
        headers={"Authorization": widget["auth"]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def parses(*turns: tuple[str, str]) -> Answer:
    """The scripted Rasa's parse of each message in turn: (intent, sentiment label)."""
    queue = iter(turns)

    def answer(body: dict) -> dict:
        intent, label = next(queue)
        turn = default_answer(body)
        score = {"negative": -0.8, "neutral": -0.1, "positive": 0.7}[label]
        turn["parse"]["intent"] = {"name": intent, "confidence": 0.9}
        turn["parse"]["sentiment"] = {"label": label, "score": score, "confidence": 0.9}
        return turn

    return answer


def decisions(database_url: str, kind: str, **where: Any) -> list[dict[str, Any]]:
    """The stored rows of `kind` (JSON columns read back as Python values on both databases)."""
    clauses = "".join(f" AND {name} = :{name}" for name in where)
    sql = f"SELECT * FROM decisions WHERE kind = :kind{clauses} ORDER BY id"
    found = rows(database_url, sql, kind=kind, **where)
    for row in found:
        for name in ("inputs", "scores", "reasons", "outcome"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return found


def insert(database_url: str, *records: Any) -> list[int]:
    """Add ORM records (decisions, conversations, messages, cases) directly; returns their ids."""
    engine = create_engine(to_sync_url(database_url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            session.add_all(records)
            session.commit()
            return [record.id for record in records]
    finally:
        engine.dispose()
