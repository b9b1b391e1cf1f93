"""Replay labelled conversations through a running stack, and score hand-off decisions against the labels.

A replay sends each customer turn over the widget's REST path (stored, parsed by Rasa, answered by the
dialogue and its actions, decided by the backend) and records, per turn, what the product stored: the intent
after fallback, the sentiment, and whether the conversation belonged to a person after the turn. A
conversation stops at its first hand-off, as it does for a customer.

`simulate` applies a hand-off policy to a replay made with the backend's policy switched off
(`HANDOFF_POLICY=off`): the system hands over at a turn when the bot's own dialogue did (asked for a person,
security, a declined retention offer) or the policy says so. Since the backend's decision changes nothing in
the dialogue before it, this equals what a live run with that policy does; the e2e replay test checks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from backend.auth.tokens import customer_hash
from backend.core.config import to_sync_url
from backend.handoff.features import TurnView
from backend.handoff.policy import HandoffPolicy
from contract.embedding import as_bytes, from_bytes
from ml.conversations import LabelledConversation


@dataclass(frozen=True)
class ReplayedTurn:
    intent: str | None
    sentiment_label: str | None
    sentiment_score: float | None
    handed_over: bool  # a person owned the conversation after this turn
    replies: tuple[str, ...]
    text: str = ""  # what the customer wrote
    # What the escalation model (the decider before the hand-off policy) said of this turn, when it scored it.
    escalation_model_escalates: bool = False
    # The sentence embedding the backend stored (contract/embedding.py's encoded form, so a replay file
    # stays JSON); the learnt policy's text models read it.
    embedding: str | None = None

    @property
    def view(self) -> TurnView:
        embedding = as_bytes(self.embedding)
        return TurnView(self.intent, self.sentiment_label, self.sentiment_score, self.text, embedding)


Replay = dict[str, list[ReplayedTurn]]


class Replayer:
    def __init__(self, backend_url: str, database_url: str, identity_secret: str) -> None:
        self._client = httpx.Client(base_url=backend_url, timeout=60)
        self._engine = create_engine(to_sync_url(database_url))
        self._secret = identity_secret

    def close(self) -> None:
        self._client.close()
        self._engine.dispose()

    def _email(self, customer_id: int) -> str:
        with self._engine.connect() as conn:
            email = conn.execute(
                text("SELECT email FROM customers WHERE id = :i"), {"i": customer_id}
            ).scalar()
        if email is None:
            raise LookupError(f"no seeded customer {customer_id}")
        return str(email)

    def _stored(self, message_id: int, conversation_id: str) -> tuple[tuple, str, bool]:
        with self._engine.connect() as conn:
            parse = conn.execute(
                text(
                    "SELECT intent, sentiment_label, sentiment_score, embedding FROM messages WHERE id = :m"
                ),
                {"m": message_id},
            ).one()
            owner = conn.execute(
                text("SELECT owner FROM conversations WHERE id = :c"), {"c": conversation_id}
            ).scalar_one()
            escalation = conn.execute(
                text("SELECT decision FROM risk_scores WHERE message_id = :m AND kind = 'escalation'"),
                {"m": message_id},
            ).scalar()
        return tuple(parse), str(owner), escalation == "escalate"

    def conversation(self, labelled: LabelledConversation) -> list[ReplayedTurn]:
        body = {}
        if labelled.customer_id is not None:
            email = self._email(labelled.customer_id)
            body = {"customer_email": email, "customer_hash": customer_hash(email, self._secret)}
        session = self._client.post("/api/v1/widget/sessions", json=body)
        session.raise_for_status()
        cid, token = session.json()["conversation_id"], session.json()["token"]
        replayed: list[ReplayedTurn] = []
        for turn in labelled.turns:
            response = self._client.post(
                f"/api/v1/widget/conversations/{cid}/messages",
                json={"text": turn.text, "client_message_id": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            result = response.json()
            (intent, label, score, raw), owner, escalates = self._stored(result["message"]["id"], cid)
            replies = tuple(r["text"] for r in result["replies"])
            handed = owner == "human"
            embedding = from_bytes(raw) if raw is not None else None
            replayed.append(
                ReplayedTurn(intent, label, score, handed, replies, turn.text, escalates, embedding)
            )
            if owner == "human":
                break
        return replayed

    def all(self, conversations: Sequence[LabelledConversation]) -> Replay:
        return {c.id: self.conversation(c) for c in conversations}


# ------------------------------------------------------------------------------------------------ scoring

Decider = Callable[[list[ReplayedTurn]], bool]  # the turns so far -> hand over now?


def live(turns: list[ReplayedTurn]) -> bool:
    """What a replay with the backend's policy on did: the decision taken in the product."""
    return turns[-1].handed_over


def with_policy(policy: HandoffPolicy | None) -> Decider:
    """The bot's own hand-offs plus the policy's (a replay made with HANDOFF_POLICY=off)."""

    def decide(turns: list[ReplayedTurn]) -> bool:
        if turns[-1].handed_over:
            return True
        return policy is not None and policy.decide([t.view for t in turns]).handoff

    return decide


def escalation_model(turns: list[ReplayedTurn]) -> bool:
    """The decider the product had before the hand-off policy: the bot's own hand-offs plus the escalation
    model (trained on the simulator) over its threshold, with its guardrails."""
    return turns[-1].handed_over or turns[-1].escalation_model_escalates


@dataclass(frozen=True)
class DecisionScore:
    conversations: int
    turns: int
    true_positive: int
    false_positive: int
    false_negative: int
    handed_over: int  # conversations
    unneeded: int  # conversations handed over at a turn labelled continue

    @property
    def precision(self) -> float:
        return self.true_positive / max(self.true_positive + self.false_positive, 1)

    @property
    def recall(self) -> float:
        return self.true_positive / max(self.true_positive + self.false_negative, 1)

    @property
    def handed_over_share(self) -> float:
        return self.handed_over / max(self.conversations, 1)

    @property
    def unneeded_per_100(self) -> float:
        return 100 * self.unneeded / max(self.conversations, 1)


def score(conversations: Sequence[LabelledConversation], replay: Replay, decide: Decider) -> DecisionScore:
    """Turn by turn until the system's first hand-off (a customer's conversation ends there). A hand-off at a
    turn labelled continue is a false positive; a turn labelled handoff without one is a false negative."""
    tp = fp = fn = turns = handed = unneeded = 0
    for labelled in conversations:
        replayed = replay[labelled.id]
        for index, turn in enumerate(labelled.turns[: len(replayed)]):
            turns += 1
            decided = decide(replayed[: index + 1])
            tp += decided and turn.handoff
            fp += decided and not turn.handoff
            fn += turn.handoff and not decided
            if decided:
                handed += 1
                unneeded += not turn.handoff
                break
    return DecisionScore(len(conversations), turns, tp, fp, fn, handed, unneeded)
