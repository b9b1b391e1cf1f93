"""The redactor against Microsoft Presidio on the hand-written PII set (ml/data/pii_messages.yml).

The set was written to docs/pii_labelling.md without running either detector, so neither one's patterns
shaped it (unlike ml/pii_eval.py's seeded set, built from templates much like the redactor's own).
Messages carry their PII as inline mark-up, `[Maria Lopez](PERSON)`; `parse_marked` turns that into the
plain text and character offsets. A message is dev or test by the first byte of SHA-256 of its id.

Scores per type, for any detector that maps texts to spans:
- exact: a predicted span is right when a gold span has its type, start and end (recall likewise);
- overlap: a predicted span is right when it shares a character with a gold span of its type; a gold span is
  found when a predicted span of its type overlaps it;
- leak-free: gold spans every character of which is covered by predicted spans of its type (what a reader
  of the redacted text cannot recover, even partly).

`choose` picks, on dev only, which detector finds each type: the assignment whose merged output (as the
redactor ships it) has the best mean overlap F1 over the types, fewer Presidio types on a tie;
backend/privacy/pii_detectors.json stores the choice.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backend.privacy.redaction import Span

DATA = Path(__file__).resolve().parent / "data" / "pii_messages.yml"
TYPES = ("PERSON", "EMAIL", "PHONE", "CARD", "IBAN")
# The redactor names its person spans NAME (its placeholder); the labelling rules say PERSON.
TO_GOLD_LABEL = {"NAME": "PERSON"}
DETECTORS = ("redactor", "presidio")
MARK = re.compile(r"\[([^\[\]]+)\]\((" + "|".join(TYPES) + r")\)")

Detector = Callable[[Sequence[str]], list[list[Span]]]


@dataclass(frozen=True)
class Message:
    id: str
    text: str
    gold: tuple[Span, ...]

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(message_id: str) -> str:
    return "dev" if hashlib.sha256(message_id.encode()).digest()[0] % 2 == 0 else "test"


def parse_marked(marked: str) -> tuple[str, tuple[Span, ...]]:
    """`"call [Ana](PERSON) now"` -> `("call Ana now", (Span(5, 8, "PERSON"),))`."""
    text, spans, position = "", [], 0
    for match in MARK.finditer(marked):
        text += marked[position : match.start()]
        value, label = match.group(1), match.group(2)
        spans.append(Span(len(text), len(text) + len(value), label))
        text += value
        position = match.end()
    return text + marked[position:], tuple(spans)


def load_messages(path: Path = DATA) -> list[Message]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    messages = [Message(row["id"], *parse_marked(row["marked"])) for row in rows]
    if len({message.id for message in messages}) != len(messages):
        raise ValueError(f"{path}: duplicate message ids")
    return messages


def of_split(messages: Sequence[Message], split: str) -> list[Message]:
    return [message for message in messages if message.split == split]


# ---------------------------------------------------------------------------------------------- scores


@dataclass
class TypeScores:
    gold: int = 0
    predicted: int = 0
    exact: int = 0  # predicted spans equal to a gold span (each gold span matched at most once)
    overlap_predicted: int = 0  # predicted spans overlapping a gold span of their type
    overlap_gold: int = 0  # gold spans overlapped by a predicted span of their type
    leak_free: int = 0  # gold spans fully covered by predicted spans of their type

    def _f1(self, precision: float, recall: float) -> float:
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def _ratio(self, part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    @property
    def exact_p(self) -> float:
        return self._ratio(self.exact, self.predicted)

    @property
    def exact_r(self) -> float:
        return self._ratio(self.exact, self.gold)

    @property
    def exact_f1(self) -> float:
        return self._f1(self.exact_p, self.exact_r)

    @property
    def overlap_p(self) -> float:
        return self._ratio(self.overlap_predicted, self.predicted)

    @property
    def overlap_r(self) -> float:
        return self._ratio(self.overlap_gold, self.gold)

    @property
    def overlap_f1(self) -> float:
        return self._f1(self.overlap_p, self.overlap_r)

    @property
    def leak_free_r(self) -> float:
        return self._ratio(self.leak_free, self.gold)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "exact_p": self.exact_p,
            "exact_r": self.exact_r,
            "exact_f1": self.exact_f1,
            "overlap_p": self.overlap_p,
            "overlap_r": self.overlap_r,
            "overlap_f1": self.overlap_f1,
            "leak_free_r": self.leak_free_r,
        }


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _covered(gold: Span, predicted: Sequence[Span]) -> bool:
    chars = set(range(gold.start, gold.end))
    for span in predicted:
        chars -= set(range(span.start, span.end))
    return not chars


def gold_labels(spans: Sequence[Span]) -> list[Span]:
    return [Span(s.start, s.end, TO_GOLD_LABEL.get(s.label, s.label)) for s in spans]


def score(messages: Sequence[Message], predictions: Sequence[Sequence[Span]]) -> dict[str, TypeScores]:
    """Per-type scores of `predictions` (redactor labels or gold labels) against the messages' gold."""
    scores = {label: TypeScores() for label in TYPES}
    for message, raw in zip(messages, predictions, strict=True):
        predicted = gold_labels(raw)
        for label, entry in scores.items():
            gold = [s for s in message.gold if s.label == label]
            mine = [s for s in predicted if s.label == label]
            entry.gold += len(gold)
            entry.predicted += len(mine)
            entry.exact += len(set(gold) & set(mine))
            entry.overlap_predicted += sum(any(_overlap(p, g) for g in gold) for p in mine)
            entry.overlap_gold += sum(any(_overlap(g, p) for p in mine) for g in gold)
            entry.leak_free += sum(_covered(g, mine) for g in gold)
    return scores


def errors(messages: Sequence[Message], predictions: Sequence[Sequence[Span]]) -> list[tuple[str, str, str]]:
    """("FP"|"MISS"|"PART", label, span text + message id) for every wrong or partial span: what to read."""
    out = []
    for message, raw in zip(messages, predictions, strict=True):
        predicted = gold_labels(raw)
        for span in predicted:
            if not any(_overlap(span, g) and g.label == span.label for g in message.gold):
                out.append(("FP", span.label, f"{message.text[span.start : span.end]!r} ({message.id})"))
        for gold in message.gold:
            mine = [p for p in predicted if p.label == gold.label]
            where = f"{message.text[gold.start : gold.end]!r} ({message.id})"
            if not any(_overlap(gold, p) for p in mine):
                out.append(("MISS", gold.label, where))
            elif gold not in mine:
                out.append(("PART", gold.label, where))
    return out


# ---------------------------------------------------------------------------------------------- choice


def choose(
    messages: Sequence[Message], predictions: Mapping[str, Mapping[str, Sequence[Span]]]
) -> tuple[dict[str, str], float]:
    """Which detector ships for each type, and the dev score of that combination.

    `predictions[detector][message id]` holds each detector's spans (all five types). Only the dev
    messages are read. Every one of the 2^5 assignments of a detector to each type is merged the way the
    redactor merges them (backend/privacy/detectors.merge: a type's spans can lose to another type's) and
    scored on dev; the assignment with the highest mean overlap F1 over the five types wins, a tie going
    to the one with fewer Presidio types (no change without a measured gain), then to the earlier one."""
    from backend.privacy import detectors as shipped

    dev = of_split(messages, "dev")
    best: tuple[float, int, int] | None = None
    best_choice: dict[str, str] = {}
    for index, owners in enumerate(itertools.product(DETECTORS, repeat=len(TYPES))):
        choice = dict(zip(TYPES, owners, strict=True))
        merged = [
            shipped.merge(m.text, predictions["redactor"][m.id], predictions["presidio"][m.id], (), choice)
            for m in dev
        ]
        scores = score(dev, merged)
        mean_f1 = sum(scores[kind].overlap_f1 for kind in TYPES) / len(TYPES)
        key = (round(mean_f1, 9), -owners.count("presidio"), -index)
        if best is None or key > best:
            best, best_choice = key, choice
    assert best is not None
    return best_choice, best[0]


def detectors() -> dict[str, Detector]:
    """The two detectors compared, each with all its types on; person names through spaCy in both."""
    from backend.privacy import presidio_detector, redaction

    return {
        "redactor": lambda texts: redaction.find_spans_many(texts, names=True),
        "presidio": presidio_detector.find_spans_many,
    }


@dataclass
class Comparison:
    scores: dict[str, dict[str, dict[str, TypeScores]]] = field(default_factory=dict)  # split, detector, type
    predictions: dict[str, dict[str, list[list[Span]]]] = field(default_factory=dict)  # split, detector
    by_id: dict[str, dict[str, list[Span]]] = field(default_factory=dict)  # detector, message id


def compare(messages: Sequence[Message], run: Mapping[str, Detector] | None = None) -> Comparison:
    run = run if run is not None else detectors()
    result = Comparison()
    for split in ("dev", "test"):
        part = of_split(messages, split)
        texts = [message.text for message in part]
        result.predictions[split] = {name: detect(texts) for name, detect in run.items()}
        for name, predictions in result.predictions[split].items():
            result.by_id.setdefault(name, {}).update(
                (message.id, spans) for message, spans in zip(part, predictions, strict=True)
            )
        result.scores[split] = {
            name: score(part, predictions) for name, predictions in result.predictions[split].items()
        }
    return result
