"""`make eval-decisions`: the decisions the product takes for the customer, on the labelled conversations.

1. Starts the real stack (backend, Rasa with the trained model, action server) on a fresh seeded SQLite
   database with the backend's hand-off policy off, and replays every labelled conversation
   (ml/data/conversations, labelled by docs/labelling.md) over the widget's REST path (ml/replay.py).
2. Scores, per split, three deciders on those replays: the bot alone (its own hand-offs), the rules-only
   policy and the learnt policy (fitted on dev by `make model`, ml/handoff.py), each added to the bot's own.
   Which one ships is chosen on **dev**; **test** is reported and never used for a choice.
3. Sentiment macro-F1 in-domain (the stored label of every replayed customer turn against its label) and on
   the public airline test split (the shipped Rasa model's own sentiment, its support domain), and the shop
   KB's answer precision and answered share on its test questions (ml/kb_shop.py).

Writes var/eval/decisions.json. Targets (issue "decision quality") are printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn.metrics import confusion_matrix, f1_score

from backend.handoff.policy import LearntPolicy, RulesPolicy
from ml import conversations
from ml.conversations import SENTIMENTS, LabelledConversation
from ml.handoff import CURRENT_POLICY, dev_key, fitted_without, parse_turns, writer_of
from ml.replay import DecisionScore, Replay, Replayer, escalation_model, score, with_policy
from scripts.paths import CACHE, CURRENT_MODEL, SHARED_DATA, VAR
from scripts.stack import Stack, StackConfig

IDENTITY_SECRET = "eval-identity-secret"
TARGET_PRECISION = TARGET_RECALL = 0.85


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replay_all(items: Sequence[LabelledConversation], work: Path, policy: str = "off") -> Replay:
    config = StackConfig(
        database_url=f"sqlite:///{work / 'eval.db'}",
        backend_port=_port(),
        rasa_port=_port(),
        action_port=_port(),
        log_dir=VAR / "log" / "eval-decisions",
        rasa_tracker_db=work / "tracker.db",
        extra_env={
            "HANDOFF_POLICY": policy,
            "SERVICE_TOKEN": "eval-service-token",
            "SECRET_KEY": "eval-secret-key-of-at-least-32-bytes!",
            "IDENTITY_SECRET": IDENTITY_SECRET,
            "KB_INDEX_DIR": str(work / "kb_index"),
            "RISK_MODEL_DIR": str(work / "risk_models"),
            "RATE_LIMITS_ENABLED": "false",
        },
    )
    stack = Stack(config)
    stack.prepare_database()
    stack.start()
    try:
        stack.wait_healthy(timeout_s=300)
        replayer = Replayer(config.url(config.backend_port), config.database_url, IDENTITY_SECRET)
        try:
            return replayer.all(items)
        finally:
            replayer.close()
    finally:
        stack.stop()


def _row(name: str, s: DecisionScore) -> str:
    f1 = 2 * s.precision * s.recall / max(s.precision + s.recall, 1e-9)
    return (
        f"  {name:<22} precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {f1:.3f}  "
        f"handed over {s.handed_over_share:6.1%}  unneeded/100 conv. {s.unneeded_per_100:5.1f}  "
        f"(TP {s.true_positive}, FP {s.false_positive}, FN {s.false_negative}; {s.turns} turns)"
    )


def sentiment_figures(items: Sequence[LabelledConversation], replay: Replay) -> dict[str, Any]:
    gold, predicted = [], []
    for labelled in items:
        for turn, replayed in zip(labelled.turns, replay[labelled.id], strict=False):
            gold.append(turn.sentiment)
            predicted.append(replayed.sentiment_label or "neutral")
    return {
        "turns": len(gold),
        "macro_f1": f1_score(gold, predicted, labels=list(SENTIMENTS), average="macro"),
        "confusion": confusion_matrix(gold, predicted, labels=list(SENTIMENTS)).tolist(),
    }


def airline_macro_f1(work: Path) -> float:
    """The shipped model's sentiment on the public airline test split (parsed by the Rasa model itself)."""
    test_csv = SHARED_DATA / "airline_sentiment" / "test.csv"
    result = parse_turns(CURRENT_MODEL.resolve(), work / "parses.json", "--airline-test", str(test_csv))
    airline = result["airline_test"]
    return float(f1_score(airline["labels"], airline["predicted"], average="macro"))


def kb_figures() -> str:
    """The shipped answer-or-not-sure decision (fitted and thresholded on the dev questions only)."""
    from ml import kb_shop

    figures = kb_shop.shop_figures("test")
    return f"{figures.line()}; threshold {figures.threshold:.3f}; {figures.verdict()}"


def _policies() -> dict[str, Any]:
    policies: dict[str, Any] = {"bot alone": None, "rules-only": RulesPolicy()}
    if CURRENT_POLICY.exists():
        policies["learnt"] = LearntPolicy.from_json(json.loads(CURRENT_POLICY.read_text()))
    return policies


def split_report(
    split: str, part: Sequence[LabelledConversation], replay: Replay, policies: dict[str, Any]
) -> dict[str, Any]:
    """Print one split's decision rows and in-domain sentiment, and return them for the report."""
    needing = sum(c.needs_handoff for c in part)
    turns = sum(len(c.turns) for c in part)
    print(f"\n{split} split: {len(part)} conversations, {turns} customer turns, {needing} needing a person")
    scores = {name: score(part, replay, with_policy(p)) for name, p in policies.items()}
    scores["escalation model (before)"] = score(part, replay, escalation_model)
    for name, s in scores.items():
        print(_row(name, s))
    sentiment = sentiment_figures(part, replay)
    print(f"  sentiment in-domain ({split}, stored labels of {sentiment['turns']} replayed turns): "
          f"macro-F1 {sentiment['macro_f1']:.3f}; confusion (rows gold, cols predicted; "
          f"{'/'.join(SENTIMENTS)}): {sentiment['confusion']}")  # fmt: skip
    return {
        "decisions": {
            name: vars(s) | {"precision": s.precision, "recall": s.recall} for name, s in scores.items()
        },
        "sentiment": sentiment,
    }


def write(replay: Replay, report: dict[str, Any], stem: str) -> None:
    """var/eval/<stem>.json (the report) and <stem>_replay.json (every replayed turn)."""
    out = VAR / "eval"
    out.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/eval yet
    replays = {cid: [vars(t) for t in turns] for cid, turns in replay.items()}
    (out / f"{stem}_replay.json").write_text(json.dumps(replays, indent=1))
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"\nwrote {out}/{stem}.json")


def dev_only() -> int:
    """The dev split alone: the test conversations are neither replayed nor scored. The learnt policy's row
    is in-sample here (it was fitted on these turns); the bot alone and the rules-only rows are not, nor is
    the held-out row: each writer's conversations decided by the policy fitted on the other writers."""
    items = conversations.of_split(conversations.load(), "dev")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        replay = replay_all(items, Path(tmp))
    print(f"\nReplayed {len(items)} dev conversations in {time.monotonic() - started:.0f} s")
    report = {"split": "dev"} | split_report("dev", items, replay, _policies())
    report["held_out_writers"] = held_out_writers(items, replay)
    # The same procedure without the text models (backend/handoff/text.py), on the same replay: what they add.
    report["held_out_writers_cues_only"] = held_out_writers(items, replay, text=False)
    write(replay, report, "decisions_dev")
    return 0


def held_out_writers(
    items: Sequence[LabelledConversation], replay: Replay, text: bool = True
) -> dict[str, Any]:
    """Each dev writer's replayed conversations with the bot's own hand-offs and the policy fitted without
    that writer: what the whole system gets on a new writer's words, short of the test set. `text=False`:
    the policy without its text models (fitted on parses stripped of their embeddings)."""
    key = dev_key()
    parses_file = CACHE / "handoff" / f"parses-{key}.json"
    if key is None or not parses_file.exists():
        print("  learnt, each writer held out: no dev parse cached (make model writes it); skipped")
        return {}
    parses = json.loads(parses_file.read_text())["conversations"]
    if not text:
        parses = {
            cid: [{k: v for k, v in p.items() if k != "embedding"} for p in turns]
            for cid, turns in parses.items()
        }
    label = "learnt" if text else "learnt without its text models"
    figures: dict[str, Any] = {}
    pooled = [0, 0, 0]
    for held in sorted({writer_of(c.id) for c in items}):
        part = [c for c in items if writer_of(c.id) == held]
        s = score(part, replay, with_policy(fitted_without(items, parses, held)))
        figures[held] = vars(s) | {"precision": s.precision, "recall": s.recall}
        pooled = [pooled[0] + s.true_positive, pooled[1] + s.false_positive, pooled[2] + s.false_negative]
        print(f"  {label}, writer {held} held out: precision {s.precision:.3f} recall {s.recall:.3f} "
              f"(TP {s.true_positive}, FP {s.false_positive}, FN {s.false_negative})")  # fmt: skip
    tp, fp, fn = pooled
    figures["pooled"] = {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "tp": tp}
    print(f"  {label}, each writer held out, pooled: precision {figures['pooled']['precision']:.3f} "
          f"recall {figures['pooled']['recall']:.3f} (TP {tp}, FP {fp}, FN {fn})")  # fmt: skip
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-airline", action="store_true", help="skip the airline test figure (slow)")
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="replay and score the dev conversations only (no test conversation, airline or KB test figure); "
        "for choices made on dev. Writes var/eval/decisions_dev*.json",
    )
    args = parser.parse_args()
    if args.dev_only:
        return dev_only()
    items = conversations.load()
    policies = _policies()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        replay = replay_all(items, Path(tmp))
        airline = None if args.skip_airline else airline_macro_f1(Path(tmp))
    print(
        f"\nReplayed {len(items)} conversations through the real stack in {time.monotonic() - started:.0f} s"
    )
    report: dict[str, Any] = {"splits": {}}
    for split in ("dev", "test"):
        report["splits"][split] = split_report(split, conversations.of_split(items, split), replay, policies)
    # The choice is made on dev, by figures neither policy was fitted on: the rules' F1 and the learnt
    # policy's out-of-fold F1 on the same labelled dev turns (ml/handoff.py). The replayed dev figure of the
    # learnt policy above is in-sample (it was fitted on those turns) and is not a basis for the choice.
    chosen = "rules-only"
    if "learnt" in policies:
        fitted = json.loads(CURRENT_POLICY.read_text())
        if "chosen_on_dev" in fitted:
            learnt_f1, rules_f1 = fitted["chosen_on_dev"]["cv_f1_at_threshold"], fitted["rules_f1_on_dev"]
            print(f"\nDev, per labelled turn: learnt out-of-fold F1 {learnt_f1:.3f}, rules F1 {rules_f1:.3f}")
            chosen = "learnt" if learnt_f1 > rules_f1 else "rules-only"
        else:  # promoted from the decision log (make train-handoff): its held-out lift there chose it
            print(f"\nThe served policy was promoted from the decision log: {fitted.get('promotion')}")
            chosen = "learnt"
    shipped = report["splits"]["test"]["decisions"][chosen]
    print(
        f"Chosen on dev: {chosen}. On test: precision {shipped['precision']:.3f} (target >= "
        f"{TARGET_PRECISION}), recall {shipped['recall']:.3f} (target >= {TARGET_RECALL})"
    )
    report["chosen_on_dev"] = chosen
    if airline is not None:
        # The bot labels with the component's support domain, whose rules call a reported problem neutral;
        # the airline tweets call it negative. The 0.80 floor is the airline domain's (make eval-sentiment).
        print(
            f"Sentiment on the airline test split as the bot labels it (support domain): macro-F1 "
            f"{airline:.3f}; the airline domain's figure and its 0.80 floor: make eval-sentiment"
        )
        report["airline_test_macro_f1"] = airline
    kb = kb_figures()
    print(f"Shop KB answers, test questions (ml/data/kb_questions.yml): {kb}")
    report["kb_shop_test"] = kb
    write(replay, report, "decisions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
