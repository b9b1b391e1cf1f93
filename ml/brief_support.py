"""Is every statement of a hand-off brief supported by what is stored? A verifier apart from the brief's code.

backend/assist/brief.py writes each statement from stored messages and the hand-off decision row, and names
the messages it rests on (`sources`). This module reads the statement *as the agent reads it* (its text),
takes out every checkable claim, and checks each against the stored rows it cites, read straight from the
tables (plain SQL rows, not the brief's objects):

- every cited message belongs to the case's conversation, was written before the first agent reply of the
  case (what was handed over), and by the sender the section speaks of (customer or bot);
- every quotation “…” is the cited message's own text (a shortened one: a part of it);
- every order number (ORD-…) and money amount ($…) in the statement appears in a cited message's text;
- an intent named ("Asked about order status (0.91, order_id ORD-100001)") is the cited message's stored
  parse, with its confidence and its entities; a message said to be unread by the bot has no parse;
- the articles a reply is said to come from are that message's stored citations;
- a sentiment label and score are the cited message's; a trend's first and last scores are those of the
  first and last scored customer messages, the direction follows from them, and the negative streak counts
  the cited messages at the end;
- the hand-off reason is the cited decision row's reasons (or, when the bot's own action handed over, the
  case's stored reason), with that row's score, threshold and version; the order numbers, intents and quoted
  words inside the reason appear in the conversation's messages; the words quoted "after" it are those of
  the message the decision was taken on.

Nothing here imports backend/assist/brief.py: the templates' wording is the only thing shared, as a reader
shares it. A statement with a claim the verifier cannot read is unsupported, not skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]

QUOTED = re.compile(r"“(.*?)”")
STRAIGHT_QUOTED = re.compile(r'"([^"]+)"')
ORDER = re.compile(r"\bORD-\d+\b")
MONEY = re.compile(r"\$\d+(?:[.,]\d+)*")
SNAKE_INTENT = re.compile(r"\(([a-z]+(?:_[a-z]+)+)\)")
UNREAD = re.compile(r"^Wrote, not read by the bot: “")
WANTS = re.compile(r"^Asked about (?P<intent>[a-z0-9 ]+) \((?P<confidence>\d+\.\d\d|\?)(?P<given>[^)]*)\): “")
ANSWERED = re.compile(r"^Bot replied(?: \(from (?P<titles>.+?)\))?: “")
FACT = re.compile(r"^Order (?P<order>ORD-\d+): “")
SCORE = re.compile(r"^(?P<label>positive|neutral|negative|scored) \((?P<score>[+-]\d+\.\d\d)\)$")
TREND = re.compile(
    r"^Sentiment (?P<direction>fell|rose|stayed level) "
    r"from (?P<first>[+-]\d+\.\d\d) to (?P<last>[+-]\d+\.\d\d)"
    r"(?:, (?P<streak>\d+) negative in a row at the end)?$"
)
DECIDED = re.compile(r"^ \(score (?P<score>\d+\.\d\d) against (?P<threshold>\d+\.\d\d), (?P<version>.+)\)$")
VERSION_ONLY = re.compile(r"^ \((?P<version>.+)\)$")
AFTER = re.compile(r", after “[^”]*”$")
SENDER = {
    "wants": "customer",
    "answered": "bot",
    "facts": "bot",
    "sentiment": "customer",
    "handover": "customer",
}


@dataclass(frozen=True)
class Stored:
    """What one case's brief may rest on, as stored: its conversation's messages (id -> row), the case row,
    and the conversation's hand-off decision rows."""

    messages: dict[int, Row]
    case: Row
    handoffs: list[Row]

    def handed_over(self) -> dict[int, Row]:
        """The customer's and the bot's messages before the case's first agent reply."""
        agents = [
            i
            for i, m in self.messages.items()
            if m["sender"] == "agent" and m["created_at"] >= self.case["created_at"]
        ]
        first_agent = min(agents) if agents else None
        return {
            i: m
            for i, m in self.messages.items()
            if m["sender"] in ("customer", "bot") and (first_agent is None or i < first_agent)
        }


@dataclass
class Verdict:
    statement: Mapping[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return not self.problems


def verify(brief: Mapping[str, Any], stored: Stored) -> list[Verdict]:
    """One verdict per statement of `brief` (the brief route's JSON)."""
    verdicts = []
    for statement in brief["statements"]:
        verdict = Verdict(statement)
        cited = _cited(statement, stored, verdict.problems)
        if cited:
            check = CHECKS.get(statement["section"])
            if check is None:
                verdict.problems.append(f"unknown section {statement['section']!r}")
            else:
                check(statement, cited, stored, brief, verdict.problems)
        verdicts.append(verdict)
    return verdicts


def _cited(statement: Mapping[str, Any], stored: Stored, problems: list[str]) -> list[Row]:
    sources = list(statement.get("sources") or [])
    if not sources or statement["message_id"] not in sources:
        problems.append("no source messages, or message_id is not among them")
        return []
    handed = stored.handed_over()
    want = SENDER.get(statement["section"])
    cited = []
    for message_id in sources:
        row = handed.get(message_id)
        if row is None:
            problems.append(f"message {message_id} is not in what was handed over of this conversation")
        elif row["sender"] != want:
            problems.append(f"message {message_id} is the {row['sender']}'s, not the {want}'s")
        else:
            cited.append(row)
    return cited if len(cited) == len(sources) else []


# ----- claims any statement may carry -----


def _flat(text: str) -> str:
    return " ".join((text or "").split())


def _quotes_in(text: str, cited: Sequence[Row], problems: list[str]) -> None:
    """Every “quotation” is part of a cited message's text (a shortened one ends with …)."""
    for quoted in QUOTED.findall(text):
        part = quoted.removesuffix("…").strip()
        if not part or not any(part in _flat(m["text"]) for m in cited):
            problems.append(f"quotation not in the cited message: “{quoted[:60]}”")


def _tokens_in(text: str, haystack: str, problems: list[str], where: str) -> None:
    """Order numbers and amounts the statement states are written in the source."""
    for token in [*ORDER.findall(text), *MONEY.findall(text)]:
        if token not in haystack:
            problems.append(f"{token} is not in {where}")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# ----- per section -----


def _wants(statement: Row, cited: list[Row], stored: Stored, brief: Row, problems: list[str]) -> None:
    (row,) = cited[:1]
    text = statement["text"]
    if UNREAD.match(text) is not None:
        if row["intent"] is not None:
            problems.append(f"said to be unread, but the bot parsed it as {row['intent']!r}")
        _quotes_in(text, cited, problems)
        return
    match = WANTS.match(text)
    if match is None:
        problems.append("cannot read the intent claim")
        return
    if match["intent"].replace(" ", "_") != row["intent"]:
        problems.append(f"intent {match['intent']!r} but the message was parsed as {row['intent']!r}")
    stored_confidence = row["intent_confidence"]
    said = None if match["confidence"] == "?" else match["confidence"]
    if (said is None) != (stored_confidence is None) or (
        said is not None and not _same(match["confidence"], stored_confidence)
    ):
        problems.append(f"confidence {match['confidence']} but {stored_confidence} was stored")
    entities = {str(e.get("entity")): str(e.get("value")) for e in _json(row["entities"]) or []}
    for pair in filter(None, (p.strip() for p in match["given"].split(","))):
        name, _, value = pair.partition(" ")
        if entities.get(name) != value:
            problems.append(f"entity {name}={value!r} is not in the message's parse")
    _quotes_in(text, cited, problems)


def _answered(statement: Row, cited: list[Row], stored: Stored, brief: Row, problems: list[str]) -> None:
    (row,) = cited[:1]
    match = ANSWERED.match(statement["text"])
    if match is None:
        problems.append("cannot read the reply claim")
        return
    titles = [str(c.get("title", "")) for c in _json(row["citations"]) or []]
    if (match["titles"] or "") != ", ".join(titles):
        problems.append(f"cites {match['titles']!r} but the message's citations are {titles}")
    _quotes_in(statement["text"], cited, problems)


def _facts(statement: Row, cited: list[Row], stored: Stored, brief: Row, problems: list[str]) -> None:
    match = FACT.match(statement["text"])
    if match is None:
        problems.append("cannot read the fact")
        return
    quoted = QUOTED.findall(statement["text"])
    if not quoted or match["order"] not in quoted[0]:
        problems.append(f"the quoted sentence does not name {match['order']}")
    _quotes_in(statement["text"], cited, problems)
    _tokens_in(statement["text"], " ".join(m["text"] for m in cited), problems, "the cited reply")


def _sentiment(statement: Row, cited: list[Row], stored: Stored, brief: Row, problems: list[str]) -> None:
    text = statement["text"]
    if (one := SCORE.match(text)) is not None:
        row = cited[0]
        if len(cited) != 1 or row["sentiment_score"] is None:
            problems.append("a message's sentiment cites no single scored message")
        elif one["label"] != (row["sentiment_label"] or "scored") or not _same(
            one["score"], row["sentiment_score"]
        ):
            stored_as = f"{row['sentiment_label']} {row['sentiment_score']}"
            problems.append(f"{one['label']} {one['score']} but {stored_as} was stored")
        return
    trend = TREND.match(text)
    if trend is None:
        problems.append("cannot read the sentiment claim")
        return
    scored = sorted(
        (
            m
            for m in stored.handed_over().values()
            if m["sender"] == "customer" and m["sentiment_score"] is not None
        ),
        key=lambda m: m["id"],
    )
    cited = sorted(cited, key=lambda m: m["id"])
    if not scored or cited[0]["id"] != scored[0]["id"] or cited[-1]["id"] != scored[-1]["id"]:
        problems.append("a trend must cite the first and the last scored customer message")
        return
    first, last = cited[0]["sentiment_score"], cited[-1]["sentiment_score"]
    if not (_same(trend["first"], first) and _same(trend["last"], last)):
        problems.append(f"from {trend['first']} to {trend['last']} but the scores are {first} and {last}")
    direction = "fell" if last < first - 0.05 else "rose" if last > first + 0.05 else "stayed level"
    if trend["direction"] != direction:
        problems.append(f"says it {trend['direction']}, the scores say it {direction}")
    streak = int(trend["streak"] or 0)
    tail = scored[len(scored) - streak :] if streak else []
    if streak and (
        any(m["sentiment_label"] != "negative" for m in tail)
        or (len(scored) > streak and scored[-streak - 1]["sentiment_label"] == "negative")
        or not {m["id"] for m in tail} <= {m["id"] for m in cited}
    ):
        problems.append(f"{streak} negative in a row at the end is not what the cited messages say")


def _handover(statement: Row, cited: list[Row], stored: Stored, brief: Row, problems: list[str]) -> None:
    text = statement["text"].removeprefix("Handed over: ")
    if (after := AFTER.search(text)) is not None:  # the hand-off turn's words: the first cited message's
        _quotes_in(after.group(), cited[:1], problems)
        text = text[: after.start()]
    decision = next((d for d in stored.handoffs if d["id"] == brief.get("handover_decision_id")), None)
    own = max((d["id"] for d in stored.handoffs if d["case_id"] == stored.case["id"]), default=None)
    if own is not None and (decision is None or decision["id"] != own):
        problems.append(f"the case's own hand-off decision is {own}, not {brief.get('handover_decision_id')}")
    reasons = "; ".join(_json(decision["reasons"]) or []) if decision is not None else ""
    if decision is not None and decision["action"] == "handoff" and reasons:
        reason = reasons
    else:  # the bot's action handed over: its reason is the case's
        reason = stored.case["reason"]
    if not text.startswith(reason):
        problems.append(f"the reason is not the stored one ({reason[:60]!r})")
        return
    _decision_numbers(text[len(reason) :], decision, problems)
    if decision is not None and decision["message_id"] and cited[0]["id"] != decision["message_id"]:
        problems.append(f"cites message {cited[0]['id']}, the decision was on {decision['message_id']}")
    conversation = stored.handed_over().values()
    said = " ".join(m["text"] for m in conversation)
    _tokens_in(reason, said, problems, "the conversation")
    for words in STRAIGHT_QUOTED.findall(reason):
        if _flat(words).removesuffix("…") not in " ".join(_flat(m["text"]) for m in conversation):
            problems.append(f"the reason quotes words the customer did not write: {words[:60]!r}")
    parsed = {m["intent"] for m in conversation if m["intent"]}
    for intent in SNAKE_INTENT.findall(reason):
        if intent not in parsed:
            problems.append(f"the reason names intent {intent}, which no message was parsed as")


def _decision_numbers(rest: str, decision: Row | None, problems: list[str]) -> None:
    if decision is None:
        if rest:
            problems.append(f"decision details {rest!r} without a decision")
        return
    scored = DECIDED.match(rest)
    bare = VERSION_ONLY.match(rest)
    if scored is not None:
        if not (
            _same(scored["score"], decision["score"]) and _same(scored["threshold"], decision["threshold"])
        ):
            problems.append(f"score/threshold {scored['score']}/{scored['threshold']} are not the decision's")
        version = scored["version"]
    elif bare is not None:
        version = bare["version"]
    else:
        problems.append(f"cannot read the decision details {rest!r}")
        return
    if version != decision["version"]:
        problems.append(f"version {version!r} is not the decision's {decision['version']!r}")


def _same(written: str, value: float | None) -> bool:
    """A number written to two decimals is the stored one (0.805 may be written 0.80 or 0.81)."""
    return value is not None and abs(float(written) - value) <= 0.005 + 1e-9


CHECKS = {
    "wants": _wants,
    "answered": _answered,
    "facts": _facts,
    "sentiment": _sentiment,
    "handover": _handover,
}
