"""How far two people labelling by docs/labelling.md agree on the test conversations (set C), and how the
shipped hand-off policy fares against each of them.

The test set's labels are one writer's reading of the rules. A second annotator relabelled the same 130
conversations blind (no access to the first labels, the policy, its figures or the project's code; only the
rules, the shop's articles and the bot's domain), every customer turn as if nothing had been handed over
before it (ml/data/agreement/README.md). These labels are never trained on, tuned on or used for a choice.
They say what precision and recall a careful person reaches against the first writer (the ceiling to read
the targets of issue "decision quality" against) and whether the policy's misses are turns where the two
people disagree.

`python -m ml.agreement` reads the replay that `make eval-decisions` wrote (var/eval/decisions_replay.json)
and the served policy (var/models/handoff-policy.json); it prints every figure with its split (test, set C).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sklearn.metrics import cohen_kappa_score, f1_score

from backend.handoff.policy import LearntPolicy, RulesPolicy
from ml import conversations
from ml.conversations import SENTIMENTS, LabelledConversation, LabelledTurn
from ml.handoff import CURRENT_POLICY
from ml.replay import Decider, DecisionScore, Replay, ReplayedTurn, score, with_policy
from scripts.paths import VAR

SECOND_ANNOTATOR = Path(__file__).resolve().parent / "data" / "agreement" / "set_c_second_annotator.yml"
FIRST_ANNOTATOR = conversations.DATA_DIR / "set_c.yml"
REPLAY = VAR / "eval" / "decisions_replay.json"


@dataclass(frozen=True)
class Annotated:
    """One customer turn as both people labelled it."""

    conversation: str
    text: str
    first: LabelledTurn
    second: LabelledTurn


def load_second(path: Path, first: Sequence[LabelledConversation]) -> dict[str, tuple[LabelledTurn, ...]]:
    """The second annotator's labels of every turn, matched to the first set by id and text."""
    body = yaml.safe_load(path.read_text())
    by_id = {c.id: c for c in first}
    second: dict[str, tuple[LabelledTurn, ...]] = {}
    for raw in body["conversations"]:
        reference = by_id[str(raw["id"])]
        turns = tuple(
            conversations.parse_turn(t, f"{path.name}:{raw['id']}:{i}") for i, t in enumerate(raw["turns"])
        )
        texts = [t.text.strip() for t in turns]
        if texts != [t.text.strip() for t in reference.turns]:
            raise ValueError(f"{path.name}:{raw['id']}: the turns differ from {FIRST_ANNOTATOR.name}'s")
        second[reference.id] = turns
    missing = sorted(set(by_id) - set(second))
    if missing:
        raise ValueError(f"{path.name}: conversations not labelled: {', '.join(missing)}")
    return second


def as_labelled(first: LabelledConversation, turns: tuple[LabelledTurn, ...]) -> LabelledConversation:
    """The second annotator's conversation under the rules' reading: labels stop at the first hand-off."""
    stop = next((i for i, t in enumerate(turns) if t.handoff), len(turns) - 1)
    return LabelledConversation(first.id, first.customer_id, turns[: stop + 1], first.declared_split)


@dataclass(frozen=True)
class KeyedTurn(ReplayedTurn):
    """A replayed turn that knows its conversation and position, so a person's labels can act as a decider."""

    text_key: tuple[str, int] = ("", 0)


def person_as_decider(labels: dict[str, tuple[LabelledTurn, ...]]) -> Decider:
    """A person's labels used as a decider, scored like the policy (ml/replay.py `score`)."""

    def decide(turns: list[ReplayedTurn]) -> bool:
        conversation, index = turns[-1].text_key
        return labels[conversation][index].handoff

    return decide


def keyed_replay(replay: Replay) -> Replay:
    return {
        cid: [KeyedTurn(**vars(t), text_key=(cid, i)) for i, t in enumerate(turns)]
        for cid, turns in replay.items()
    }


def read_replay(path: Path) -> Replay:
    raw = json.loads(path.read_text())
    return {
        cid: [ReplayedTurn(**t | {"replies": tuple(t["replies"])}) for t in turns]
        for cid, turns in raw.items()
    }


def _line(name: str, s: DecisionScore) -> str:
    f1 = 2 * s.precision * s.recall / max(s.precision + s.recall, 1e-9)
    return (
        f"  {name:<46} precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {f1:.3f}  "
        f"(TP {s.true_positive}, FP {s.false_positive}, FN {s.false_negative}; {s.turns} turns)"
    )


def turn_agreement(first: Sequence[LabelledConversation], second: dict[str, tuple[LabelledTurn, ...]]) -> str:
    """Per turn the first writer labelled (to their first hand-off): kappa of the decision and sentiment."""
    pairs = [(t, second[c.id][i]) for c in first for i, t in enumerate(c.turns)]
    decision_kappa = cohen_kappa_score([a.handoff for a, _ in pairs], [b.handoff for _, b in pairs])
    sentiment_kappa = cohen_kappa_score([a.sentiment for a, _ in pairs], [b.sentiment for _, b in pairs])
    sentiment_f1 = f1_score(
        [a.sentiment for a, _ in pairs],
        [b.sentiment for _, b in pairs],
        labels=list(SENTIMENTS),
        average="macro",
    )
    both = sum(a.handoff and b.handoff for a, b in pairs)
    rules_same = sum(a.handoff and b.handoff and a.rule == b.rule for a, b in pairs)
    return (
        f"  per turn ({len(pairs)} turns): hand-off decision Cohen's kappa {decision_kappa:.3f}; sentiment "
        f"kappa {sentiment_kappa:.3f}, macro-F1 of the second against the first {sentiment_f1:.3f}; of the "
        f"{both} turns both call a hand-off, {rules_same} with the same rule"
    )


def texts_only(first: Sequence[LabelledConversation]) -> Replay:
    """A replay of the customers' texts only: enough to score one person's labels against another's."""
    return keyed_replay(
        {c.id: [ReplayedTurn(None, None, None, False, (), t.text) for t in c.turns] for c in first}
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--second", type=Path, default=SECOND_ANNOTATOR)
    parser.add_argument("--replay", type=Path, default=REPLAY, help="written by make eval-decisions")
    args = parser.parse_args()
    first = conversations.load([FIRST_ANNOTATOR])
    second = load_second(args.second, first)
    second_set = [as_labelled(c, second[c.id]) for c in first]
    first_labels = {c.id: c.turns for c in first}
    people = texts_only(first)
    print(f"Set C (test split): {len(first)} conversations, two annotators, labels by docs/labelling.md")
    print(turn_agreement(first, second))
    print("Scored as make eval-decisions scores a decider (turn by turn until its first hand-off):")
    print(_line("second annotator against the first writer", score(first, people, person_as_decider(second))))
    print(
        _line(
            "first writer against the second annotator",
            score(second_set, people, person_as_decider(first_labels)),
        )
    )
    if not args.replay.exists():
        print(f"No replay at {args.replay} (make eval-decisions writes it): the policies are not scored here")
        return 0
    replay = keyed_replay(read_replay(args.replay))
    policies: dict[str, Decider] = {"rules-only policy": with_policy(RulesPolicy())}
    if CURRENT_POLICY.exists():
        learnt = LearntPolicy.from_json(json.loads(CURRENT_POLICY.read_text()))
        policies = {"learnt policy (shipped)": with_policy(learnt), **policies}
    for labels, name_of_labels in (
        (first, "the first writer's labels"),
        (second_set, "the second annotator's"),
    ):
        print(f"against {name_of_labels}:")
        for name, decide in policies.items():
            print(_line(name, score(labels, replay, decide)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
