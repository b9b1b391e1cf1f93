"""The learning loop, replayed: weeks of conversations, simulated agent feedback, the hand-off policy
retrained every week from the labels so far and scored on the NEXT week.

    python -m ml.eval_loop [--weeks 6] [--review-share 0.5] [--seed 7] [--parses FILE]
    make eval-loop

The conversations are the labelled **dev** sets only (set_a, set_b; the test set C is never read), each once,
spread over the weeks by the seeded history's own schedule (backend/seed_history.py), so no text is in two
weeks. Each customer turn is one hand-off decision, seen through a parse: the Rasa model's parse of the turn
from `make model`'s cache (ml/handoff.py `build()`), or a parse file given with --parses; without either, the
writers' intent notes and the labelled sentiment (the seeded history's parses before its invented misparses),
and the output says which.

**The feedback is simulated**: an agent reviews a share of each week's decisions (`--review-share`, 0.5 by
default, drawn with the seed) and their label is the turn's own labelled decision, written by the labelling
rules (docs/labelling.md), never by any model. So the figures say how fast the policy learns the rules'
labels from a partial review, on the dev conversations the policy's features were designed with; they are not
a measure on customers, and not the held-out test figure (`make eval-decisions`).

Week k's policy is fitted (ml/decision_labels.py `fit`: ml/handoff.py's procedure on logged rows) on the
reviewed rows of weeks 1..k and scored on every turn of week k+1 against its labels; the rules policy is
scored on the same turns. Too few labels to cross-validate and the rules serve that week (said in the table).
A week holds about 27 conversations and 5-10 needed hand-offs, so one turn moves a week's figures a lot.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.handoff.features import TurnView, handoff_features
from backend.handoff.policy import HandoffPolicy, RulesPolicy
from backend.seed_history import DEV_SETS, SeedConversation, dev_conversations, schedule
from ml import conversations
from ml.conversations import LabelledConversation
from ml.decision_labels import LabelledDecision, TooFewLabels, fit
from ml.handoff import DIALOGUE_HANDOFFS, Parses
from scripts.paths import CACHE, CURRENT_MODEL, ROOT, content_hash

REVIEW_SHARE = 0.5
WEEKS = 6
SIMULATED = (
    "Feedback is SIMULATED: the reviewed share's labels are the rule-written labels of the dev conversations "
    "(docs/labelling.md), not agents' judgements; precision and recall are against those labels."
)


@dataclass(frozen=True)
class Turn:
    conversation: str
    week: int
    features: dict[str, float]
    label: int
    reviewed: bool


@dataclass(frozen=True)
class WeekResult:
    week: int  # the scored week (1-based); its policy was trained on weeks 1..week-1
    trained_on_weeks: tuple[int, ...]
    labels_so_far: int
    needed: int  # turns of the scored week whose label is a hand-off
    policy: str  # the learnt version, or "rules (too few labels)"
    learnt: dict[str, float]
    rules: dict[str, float]
    trained_conversations: frozenset[str]
    scored_conversations: frozenset[str]


def dev_items() -> list[LabelledConversation]:
    items = conversations.load([conversations.DATA_DIR / name for name in DEV_SETS])
    if any(c.split != "dev" for c in items):
        raise ValueError("the loop replays dev conversations only")
    return items


def cached_parses() -> Path | None:
    """The parse file `make model` wrote for the current Rasa model and labelled data (ml/handoff.py)."""
    if not CURRENT_MODEL.exists():
        return None
    inputs = [*conversations.data_files(), ROOT / "ml" / "handoff.py", ROOT / "backend" / "handoff"]
    path = CACHE / "handoff" / f"parses-{content_hash(inputs, extra=CURRENT_MODEL.resolve().name)}.json"
    return path if path.exists() else None


def notes_parses() -> Parses:
    """The writers' intent notes and the labelled sentiment (the seeded history's, without its misparses)."""
    strength = {"positive": 0.8, "negative": -0.8, "neutral": 0.0}
    return {
        c.id: [
            {"intent": t.intent, "sentiment_label": t.sentiment, "sentiment_score": strength[t.sentiment]}
            for t in c.turns
        ]
        for c in dev_conversations()
    }


def turns_of(
    items: Sequence[LabelledConversation], parses: Parses, weeks: int, share: float, seed: int
) -> list[Turn]:
    """Every turn the policy decides (not the dialogue's own hand-offs, as in ml/handoff.py), with its week
    and whether an agent reviewed it."""
    rng = random.Random(seed)
    by_id = {c.id: c for c in items}
    planned = schedule(dev_conversations_of(items), weeks, copies=1, rng=rng)
    found = []
    for item in planned:
        conversation = by_id[item.conversation.id]
        views: list[TurnView] = []
        for turn, parse in zip(conversation.turns, parses[conversation.id], strict=True):
            views.append(
                TurnView(parse["intent"], parse["sentiment_label"], parse["sentiment_score"], turn.text)
            )
            reviewed = rng.random() < share  # drawn for every turn, so the share does not shift the rest
            if (turn.rule, parse["intent"]) in DIALOGUE_HANDOFFS:
                continue
            found.append(
                Turn(conversation.id, item.week, handoff_features(views), int(turn.handoff), reviewed)
            )
    return found


def dev_conversations_of(items: Sequence[LabelledConversation]) -> list[SeedConversation]:
    """The schedule works on the seeded history's records; the same conversations, by id."""
    wanted = {c.id for c in items}
    return [c for c in dev_conversations() if c.id in wanted]


def scores(policy: HandoffPolicy, turns: Sequence[Turn]) -> dict[str, float]:
    decide = policy.decide_features  # type: ignore[attr-defined]  # both policies have it
    predicted = np.array([decide(t.features).handoff for t in turns], dtype=bool)
    y = np.array([t.label for t in turns], dtype=int)
    tp = int((predicted & (y == 1)).sum())
    precision = tp / predicted.sum() if predicted.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "precision": round(float(precision), 3),
        "recall": round(float(recall), 3),
        "f1": round(float(f1), 3),
        "handoffs": int(predicted.sum()),
    }


def replay(turns: Sequence[Turn], weeks: int) -> list[WeekResult]:
    """Week by week: fit on the reviewed turns of the weeks before, score on the week itself."""
    results = []
    rules = RulesPolicy()
    for scored_week in range(1, weeks):
        trained = [t for t in turns if t.week < scored_week]
        scored = [t for t in turns if t.week == scored_week]
        labelled = [
            LabelledDecision(i, t.conversation, t.features, t.label, "feedback")
            for i, t in enumerate(trained)
            if t.reviewed
        ]
        policy: HandoffPolicy
        try:
            policy, _ = fit(labelled, version=f"week-{scored_week}")
            name = policy.name
        except TooFewLabels:
            policy, name = rules, "rules (too few labels)"
        trained_ids = frozenset(t.conversation for t in trained)
        scored_ids = frozenset(t.conversation for t in scored)
        if trained_ids & scored_ids:  # the schedule puts each conversation in one week; this keeps it so
            raise AssertionError("a scored conversation is in the training weeks")
        results.append(
            WeekResult(
                week=scored_week + 1,
                trained_on_weeks=tuple(range(1, scored_week + 1)),
                labels_so_far=len(labelled),
                needed=sum(t.label for t in scored),
                policy=name,
                learnt=scores(policy, scored),
                rules=scores(rules, scored),
                trained_conversations=trained_ids,
                scored_conversations=scored_ids,
            )
        )
    return results


def mean_of(rows: Sequence[WeekResult]) -> WeekResult:
    """One week's results of several seeded runs, averaged (labels and needed counts rounded)."""

    def mean(key: str, side: str) -> float:
        return round(float(np.mean([getattr(r, side)[key] for r in rows])), 3)

    learnt_weeks = sum(r.policy.startswith("learnt") for r in rows)
    return WeekResult(
        week=rows[0].week,
        trained_on_weeks=rows[0].trained_on_weeks,
        labels_so_far=round(float(np.mean([r.labels_so_far for r in rows]))),
        needed=round(float(np.mean([r.needed for r in rows]))),
        policy=f"learnt in {learnt_weeks} of {len(rows)} runs",
        learnt={k: mean(k, "learnt") for k in ("precision", "recall", "f1", "handoffs")},
        rules={k: mean(k, "rules") for k in ("precision", "recall", "f1", "handoffs")},
        trained_conversations=frozenset(),
        scored_conversations=frozenset(),
    )


def table(results: Sequence[WeekResult]) -> str:
    head = (
        f"{'week':>4}  {'trained on':>10}  {'labels':>6}  {'needed':>6}  {'learnt P':>8}  {'learnt R':>8}  "
        f"{'learnt F1':>9}  {'rules P':>7}  {'rules R':>7}  {'rules F1':>8}  policy"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        weeks = f"1-{r.trained_on_weeks[-1]}" if len(r.trained_on_weeks) > 1 else "1"
        lines.append(
            f"{r.week:>4}  {weeks:>10}  {r.labels_so_far:>6}  {r.needed:>6}  {r.learnt['precision']:>8.3f}  "
            f"{r.learnt['recall']:>8.3f}  {r.learnt['f1']:>9.3f}  {r.rules['precision']:>7.3f}  "
            f"{r.rules['recall']:>7.3f}  {r.rules['f1']:>8.3f}  {r.policy}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weeks", type=int, default=WEEKS)
    parser.add_argument("--review-share", type=float, default=REVIEW_SHARE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--parses", type=Path, help="an ml/parse_turns.py output; default: make model's cache"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="also the mean over this many seeds (schedules and reviews)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    items = dev_items()
    path = args.parses or cached_parses()
    if path is not None:
        parses: Parses = json.loads(path.read_text())["conversations"]
        source = f"the Rasa model's parses ({path.name})"
    else:
        parses, source = (
            notes_parses(),
            "the writers' intent notes and labelled sentiment (no Rasa parses cached)",
        )
    turns = turns_of(items, parses, args.weeks, args.review_share, args.seed)
    results = replay(turns, args.weeks)
    print(
        f"eval-loop: {len(items)} dev conversations (sets A and B), {len(turns)} policy turns over "
        f"{args.weeks} weeks; parses: {source}; agents review {args.review_share:.0%} of each week's "
        "decisions."
    )
    print(SIMULATED)
    print(
        "Each week's policy is trained on the weeks before it and scored on that week (never its training)."
    )
    print(table(results))
    if args.seeds > 1:
        runs = [replay(turns_of(items, parses, args.weeks, args.review_share, seed), args.weeks)
                for seed in range(args.seed, args.seed + args.seeds)]  # fmt: skip
        print(
            f"\nMean over seeds {args.seed}..{args.seed + args.seeds - 1} (each row: that week of every run):"
        )
        print(table([mean_of(rows) for rows in zip(*runs, strict=True)]))
    if args.json:
        body = [
            {k: v for k, v in vars(r).items() if k not in ("trained_conversations", "scored_conversations")}
            for r in results
        ]
        args.json.write_text(
            json.dumps({"parses": source, "share": args.review_share, "weeks": body}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
