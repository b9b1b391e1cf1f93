"""A fresh install gets both production models; running bootstrap again changes nothing."""

import argparse
import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.conversations.models import Conversation, Message
from backend.core.config import Settings
from backend.core.database import utcnow
from backend.customers.models import Customer
from backend.seed import seed
from ml.risk import bootstrap, crm_history, training
from ml.risk.cli import session_for
from tests.conftest import migrate
from tests.dbcheck import rows

# Each test migrates a database of its own (no fixture of tests/conftest.py says so), and trains the CRM's
# models from scratch: slow by design.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = argparse.Namespace(seed=7, customers=300, conversations=250)


def fresh_install(tmp_path, customers: int = 30) -> Settings:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        seed(session, customers, random.Random(7))
    engine.dispose()
    return Settings(
        database_url=url, risk_model_dir=tmp_path / "models", risk_telco_csv=tmp_path / "absent.csv"
    )


def test_bootstrap_installs_both_models_once(tmp_path):
    settings = fresh_install(tmp_path)
    first = asyncio.run(bootstrap.bootstrap(settings, SMALL))
    assert first[0].startswith("churn: trained on simulated data") and "in production" in first[0]
    assert first[1].startswith("escalation: trained on simulated data")
    second = asyncio.run(bootstrap.bootstrap(settings, SMALL))
    assert all("already in production" in line for line in second)
    versions = rows(
        settings.database_url, "SELECT kind, status, artifact_path FROM model_versions ORDER BY id"
    )
    assert [(v["kind"], v["status"]) for v in versions] == [
        ("churn", "production"),
        ("escalation", "production"),
    ]
    assert all((settings.risk_model_dir / v["artifact_path"]).is_file() for v in versions)


def test_an_interrupted_bootstrap_promotes_what_it_registered_instead_of_training_twice(tmp_path):
    settings = fresh_install(tmp_path)
    trained = training.escalation_from_simulation(SMALL.conversations, SMALL.seed)

    async def register_only() -> None:
        async with session_for(settings) as session:
            await bootstrap.registry.register(
                session, trained.model, trained.fingerprint, settings.risk_model_dir
            )

    asyncio.run(register_only())
    asyncio.run(bootstrap.bootstrap(settings, SMALL))
    escalation = rows(settings.database_url, "SELECT status FROM model_versions WHERE kind = 'escalation'")
    assert [r["status"] for r in escalation] == ["production"]


def cancel_some(url: str, every: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        session.execute(update(Customer).where(Customer.id % every == 0).values(status="cancelled"))
        session.commit()
    engine.dispose()


def test_with_enough_cancellations_the_churn_model_comes_from_the_crm(tmp_path):
    settings = fresh_install(tmp_path, customers=240).model_copy(update={"risk_min_training_rows": 200})
    cancel_some(settings.database_url, every=3)
    lines = asyncio.run(bootstrap.bootstrap(settings, SMALL))
    assert lines[0].startswith("churn: trained on crm data")


def add_history(url: str, conversations: int) -> None:
    """Conversations with outcomes: even ones escalated (a case), odd ones resolved by the bot."""
    engine = create_engine(url)
    start = utcnow() - timedelta(days=1)
    with Session(engine) as session:
        for i in range(conversations):
            conversation = Conversation(
                customer_id=1 + i % 20,
                started_at=start,
                last_message_at=start,
                status="resolved" if i % 2 else "open",
            )
            session.add(conversation)
            session.flush()
            for turn in range(3):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        sender="customer",
                        text="x",
                        intent="complaint" if i % 2 == 0 else "order_status",
                        sentiment_label="negative" if i % 2 == 0 else "neutral",
                        sentiment_score=-0.5,
                        created_at=start + timedelta(minutes=turn),
                    )
                )
            if i % 2 == 0:
                session.add(
                    Case(
                        conversation_id=conversation.id,
                        customer_id=conversation.customer_id,
                        reason="test",
                        created_at=start + timedelta(minutes=5),
                    )
                )
        session.commit()
    engine.dispose()


@pytest.mark.asyncio
async def test_escalation_history_from_the_crm_is_per_turn_and_labelled_by_outcome(tmp_path):
    settings = fresh_install(tmp_path)
    add_history(settings.database_url, 60)
    async with session_for(settings) as session:
        X, y, groups = await crm_history.escalation_frame(session)
        assert len(y) == 180 and len(set(groups)) == 60 and y.mean() == 0.5
        assert list(X["turn_index"][:3]) == [1.0, 2.0, 3.0]
        trained = await training.escalation_from_db(session)
    assert trained.model.kind == "escalation" and trained.model.metrics["source"]["conversations"] == 60
