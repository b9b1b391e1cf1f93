"""The labelled in-domain conversations (ml/data/conversations/*.yml), labelled by docs/labelling.md.

Imported by both venvs (the bot venv parses the turns with the Rasa model; the app venv trains and
evaluates), so it needs nothing but the standard library and PyYAML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data" / "conversations"
SENTIMENTS = ("negative", "neutral", "positive")
DECISIONS = ("continue", "handoff")
RULES = ("H1", "H2", "H3", "H4")


@dataclass(frozen=True)
class LabelledTurn:
    text: str
    sentiment: str
    handoff: bool
    rule: str | None


@dataclass(frozen=True)
class LabelledConversation:
    id: str
    customer_id: int | None
    turns: tuple[LabelledTurn, ...]
    declared_split: str | None = None  # the set's own `split:`, which wins over the hash (labelling.md §4)

    @property
    def split(self) -> str:
        return self.declared_split or split_of(self.id)

    @property
    def needs_handoff(self) -> bool:
        return any(t.handoff for t in self.turns)


def split_of(item_id: str) -> str:
    """docs/labelling.md §4: by the SHA-256 of the id, so the split depends on nothing a writer chose."""
    return "test" if hashlib.sha256(item_id.encode()).digest()[0] % 2 == 0 else "dev"


def parse_turn(raw: dict, where: str) -> LabelledTurn:
    sentiment, decision, rule = raw.get("sentiment"), raw.get("decision"), raw.get("rule")
    if sentiment not in SENTIMENTS or decision not in DECISIONS:
        raise ValueError(f"{where}: sentiment {sentiment!r} / decision {decision!r} not in the vocabulary")
    if (decision == "handoff") != (rule in RULES):
        raise ValueError(f"{where}: a handoff names its rule (H1-H4), a continue names none")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: empty text")
    return LabelledTurn(text, sentiment, decision == "handoff", rule)


def _conversation(raw: dict, source: str, split: str | None) -> LabelledConversation:
    cid = str(raw["id"])
    turns = tuple(parse_turn(t, f"{source}:{cid}:{i}") for i, t in enumerate(raw["turns"]))
    handoffs = [i for i, t in enumerate(turns) if t.handoff]
    if handoffs and handoffs[0] != len(turns) - 1:
        raise ValueError(f"{source}:{cid}: labels stop at the first handoff (docs/labelling.md §2)")
    customer = raw.get("customer")
    return LabelledConversation(cid, int(customer) if customer is not None else None, turns, split)


def load(paths: Iterable[Path] | None = None) -> list[LabelledConversation]:
    files = sorted(paths) if paths is not None else sorted(DATA_DIR.glob("*.yml"))
    conversations: list[LabelledConversation] = []
    for path in files:
        body = yaml.safe_load(path.read_text())
        split = body.get("split")
        if split not in (None, "dev", "test"):
            raise ValueError(f"{path.name}: split {split!r} is not dev or test")
        conversations += [_conversation(raw, path.name, split) for raw in body["conversations"]]
    ids = [c.id for c in conversations]
    if len(set(ids)) != len(ids):
        raise ValueError("conversation ids must be unique across the sets")
    return conversations


def of_split(conversations: Iterable[LabelledConversation], split: str) -> list[LabelledConversation]:
    return [c for c in conversations if c.split == split]


def turns(conversations: Iterable[LabelledConversation]) -> Iterator[tuple[LabelledConversation, int]]:
    for conversation in conversations:
        for index in range(len(conversation.turns)):
            yield conversation, index


def data_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.yml"))
