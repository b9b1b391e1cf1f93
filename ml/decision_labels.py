"""Learning the hand-off policy from the decision log: labelled decisions as training rows, a candidate fitted
on them, and a promotion gate on held-out logged labels.

    python -m ml.decision_labels --from-decisions [--min-labels N] [--dry-run] [--seed 7] [--too-few-ok]
    make train-handoff [ARGS=--dry-run]          (or make train-escalation ARGS=--from-decisions)

Any other arguments go to the escalation risk model's trainer (ml/risk/train_escalation.py), so
`make train-escalation ARGS=--from-db` keeps meaning what it says.

Rows: every logged hand-off decision with a label. A person's label wins (`needed` 1, `not_needed` 0, from the
inbox or the review queue); without one, the outcome decides where it says something: a `continue` after which
the customer asked for a person within two turns was a needed hand-off (1), a `continue` whose final outcome
shows no request and no later hand-off was right to carry on (0). The cue features are the ones the policy saw
when it decided (the row's `inputs.features`), so the model learns from exactly what it will act on.

The text models (backend/handoff/text.py) come with the champion: when the served policy has them, the
candidate ships with the same two models, and its `text_now` / `text_pair` features are those models read
again on the stored embeddings of the decision's message and the one before it (a logged logit may come from
text models an earlier `make model` fitted). What is refitted on the team's labels is how much each feature,
the two text logits included, weighs and where the threshold sits; the text models themselves stay the dev
fit's. A decision whose message was erased has no embedding: its text features are read at their mean, as the
served policy reads a turn without one.

The gate: conversations are split by time, the newest quarter held out (a conversation's turns stay
together). Both the candidate, fitted on the older rows with ml/handoff.py's procedure, and the champion (the
served policy file, or the rules when there is none) decide the held-out rows; F1 of each and of their
difference come with 95 % bootstrap intervals over conversations. The candidate is promoted only when the
interval of the difference lies above zero: the escalation challenger's rule (backend/risk/challenger.py, a
paired 95 % percentile bootstrap whose lower bound must exceed 0), on F1 at the policy's own threshold rather
than ROC-AUC, because the policy acts at that threshold (rules have no score to rank by), and resampling whole
conversations, because a conversation's turns are not independent. Fewer labels than the minimum
(DECISION_MIN_LABELS, 200) and it refuses to train at all.

Every run but a dry run is recorded in the model registry (ml/handoff_promotion.py): the served policy's row,
the candidate's with its fit and gate, and, when it passed, the promotion (audited `model.promote`) with the
served file relinked. `make model` keeps a promoted policy until the dev inputs change (ml/handoff.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from backend.conversations.service import customer_turns, parsed_turns
from backend.core.config import Settings, get_settings
from backend.core.database import utcnow
from backend.decisions.models import Decision
from backend.handoff.features import FEATURES
from backend.handoff.policy import HandoffPolicy, LearntPolicy, RulesPolicy, input_names
from backend.handoff.text import TEXT_FEATURES, TextModels
from ml import handoff_promotion as promotion
from ml.handoff import FOLDS, _f1, fit_rows

HOLDOUT_SHARE = 0.25
BOOTSTRAP_ROUNDS = 1000
POSITIVE, NEGATIVE = "needed", "not_needed"


class TooFewLabels(Exception):
    """Not enough labelled decisions to train on; the message says how many there are and are needed."""


@dataclass(frozen=True)
class LabelledDecision:
    decision_id: int
    conversation: str
    features: dict[str, float]
    label: int
    source: str  # feedback (a person) or outcome


def label_of(decision: Decision) -> tuple[int, str] | None:
    """(label, source): a person's label first, else what the outcome says, else None."""
    if decision.feedback_label in (POSITIVE, NEGATIVE):
        return int(decision.feedback_label == POSITIVE), "feedback"
    outcome = decision.outcome or {}
    if decision.action != "continue":
        return None
    if outcome.get("asked_for_person_within_2_turns"):
        return 1, "outcome"
    if decision.outcome_final and not outcome.get("handed_over_later"):
        return 0, "outcome"
    return None


async def export(session: AsyncSession, text: TextModels | None = None) -> list[LabelledDecision]:
    """Every labelled hand-off decision whose features this code computes, oldest first (with `text`: its
    text features read again by those models)."""
    return (await export_counted(session, text))[0]


async def export_counted(
    session: AsyncSession, text: TextModels | None = None
) -> tuple[list[LabelledDecision], int]:
    """`export`, and how many labelled decisions it left out for their features (logged before the feature
    set changed), so a refusal can say why labels that exist do not count."""
    query = select(Decision).where(Decision.kind == "handoff").order_by(Decision.created_at, Decision.id)
    found, other_features = [], 0
    for decision in (await session.execute(query)).scalars().all():
        labelled = label_of(decision)
        if labelled is None:
            continue
        logged = (decision.inputs or {}).get("features") or {}
        # A served policy with text models logs their two logits beside the cue features.
        if not set(FEATURES) <= set(logged) <= set(FEATURES + TEXT_FEATURES):
            other_features += 1
            continue
        features = {name: logged[name] for name in FEATURES}
        if text is not None:
            features |= await text_features_of(session, text, decision)
        group = decision.conversation_id or f"decision-{decision.id}"
        found.append(LabelledDecision(decision.id, group, features, *labelled))
    return found, other_features


async def text_features_of(session: AsyncSession, text: TextModels, decision: Decision) -> dict[str, float]:
    """`text`'s two logits on the decision's stored message and the parsed one before it, as the hand-off
    decision reads them when serving; empty when the message or its embedding is gone."""
    if decision.conversation_id is None or decision.message_id is None:
        return {}
    turns = parsed_turns(await customer_turns(session, decision.conversation_id, decision.message_id))
    return text.features(turns)


def matrix(
    rows: Sequence[LabelledDecision], names: Sequence[str] = FEATURES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' features in `names` order. A text feature a row lacks is filled with the column's mean, the
    value the fitted policy reads for a turn without an embedding (its training mean)."""
    X = np.array([[r.features.get(name, np.nan) for name in names] for r in rows], dtype=float)
    X = X.reshape(len(rows), len(names))
    missing = np.isnan(X)
    if missing.any():
        counts = (~missing).sum(axis=0)
        sums = np.where(missing, 0.0, X).sum(axis=0)
        means = np.divide(sums, counts, out=np.zeros(len(names)), where=counts > 0)
        X = np.where(missing, means, X)
    y = np.array([r.label for r in rows], dtype=int)
    groups = np.array([r.conversation for r in rows])
    return X, y, groups


def split_by_time(rows: Sequence[LabelledDecision]) -> tuple[list[LabelledDecision], list[LabelledDecision]]:
    """The newest HOLDOUT_SHARE of conversations (by their first labelled decision) held out, whole."""
    order = list(dict.fromkeys(r.conversation for r in rows))
    held = set(order[len(order) - max(1, round(len(order) * HOLDOUT_SHARE)) :])
    return [r for r in rows if r.conversation not in held], [r for r in rows if r.conversation in held]


def fit(
    rows: Sequence[LabelledDecision], version: str, text: TextModels | None = None
) -> tuple[LearntPolicy, dict[str, Any]]:
    """ml/handoff.py's procedure on logged rows: C by grouped out-of-fold log loss, then the threshold on
    out-of-fold F1 (ml/handoff_threshold.py, conversations resampled), then one fit on every row. With
    `text`, the policy reads those text models' logits too and ships with them."""
    X, y, groups = matrix(rows, input_names(text))
    if y.sum() < FOLDS or (len(y) - y.sum()) < FOLDS or len(set(groups)) < FOLDS:
        raise TooFewLabels(
            f"too few of each label (or conversations) to cross-validate: {int(y.sum())} needed"
        )
    policy, choice = fit_rows(X, y, groups, version)
    if text is not None:
        policy = replace(policy, text=text)
    report = {
        "rows": len(y),
        "needed": int(y.sum()),
        "C": choice.c,
        "threshold": choice.threshold,
        "cv_f1": round(choice.f1, 4),
        "features": list(input_names(text)),
        "text_models": "the champion's" if text is not None else None,
    }
    return policy, report


def decisions_of(policy: HandoffPolicy, rows: Sequence[LabelledDecision]) -> np.ndarray:
    decide = policy.decide_features  # type: ignore[attr-defined]  # both policies have it
    return np.array([decide(r.features).handoff for r in rows], dtype=bool)


def _interval(values: np.ndarray) -> list[float]:
    return [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]


def compare(
    candidate: np.ndarray, champion: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int
) -> dict[str, Any]:
    """Both F1s on the same held-out rows, with paired bootstrap intervals over conversations."""
    names = np.unique(groups)
    members = [np.flatnonzero(groups == name) for name in names]
    rng = np.random.default_rng(seed)
    boot = np.empty((BOOTSTRAP_ROUNDS, 2))
    for i in range(BOOTSTRAP_ROUNDS):
        rows = np.concatenate([members[j] for j in rng.integers(0, len(names), len(names))])
        boot[i] = (_f1(y[rows], candidate[rows]), _f1(y[rows], champion[rows]))
    lift = boot[:, 0] - boot[:, 1]
    passed = bool(np.percentile(lift, 2.5) > 0)
    return {
        "metric": "f1",
        "held_out_rows": len(y),
        "held_out_conversations": len(names),
        "candidate_f1": round(_f1(y, candidate), 4),
        "candidate_f1_ci95": _interval(boot[:, 0]),
        "champion_f1": round(_f1(y, champion), 4),
        "champion_f1_ci95": _interval(boot[:, 1]),
        "lift": round(_f1(y, candidate) - _f1(y, champion), 4),
        "lift_ci95": _interval(lift),
        "passed": passed,
        "reason": None if passed else "the 95 % interval of the F1 lift does not lie above 0",
    }


def champion_of(path: Path) -> HandoffPolicy:
    """The served policy: the file HANDOFF_MODEL_PATH names, or the rules when there is none."""
    try:
        return LearntPolicy.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError):
        return RulesPolicy()


async def record(
    session: AsyncSession,
    candidate: LearntPolicy,
    champion: HandoffPolicy,
    fitted: dict[str, Any],
    gate: dict[str, Any],
    served: Path,
) -> tuple[dict[str, Any], Path]:
    """The measurement in the registry (ml/handoff_promotion.py): the served policy's row, the candidate's,
    and the promotion when the gate passed."""
    current = await promotion.served_version(session, champion, served)
    promoted_at = utcnow() if gate["passed"] else None
    target = promotion.write_policy(candidate, gate, served, promoted_at)
    version = await promotion.register_candidate(session, candidate, target, fitted, gate)
    if promoted_at is not None:
        await promotion.promote(session, version, current, target, served)
    else:
        await session.commit()
    return {"champion": current.version, "candidate": version.version, "status": version.status}, target


async def train_from_decisions(
    session: AsyncSession, settings: Settings, min_labels: int, dry_run: bool = False, seed: int = 7
) -> dict[str, Any]:
    champion = champion_of(settings.handoff_model_path)
    text = champion.text if isinstance(champion, LearntPolicy) else None
    rows, other_features = await export_counted(session, text)
    if len(rows) < min_labels:
        stale = f" ({other_features} more were logged with other features than this code computes)"
        raise TooFewLabels(
            f"{len(rows)} labelled hand-off decisions in the log; training needs at least {min_labels} "
            "(DECISION_MIN_LABELS). Label more in the inbox or the review queue, or wait for outcomes."
            + (stale if other_features else "")
        )
    train, held = split_by_time(rows)
    version = f"log-{rows[-1].decision_id}-{len(rows)}"
    candidate, fitted = fit(train, version, text)
    _, y, groups = matrix(held)
    gate = compare(decisions_of(candidate, held), decisions_of(champion, held), y, groups, seed)
    report = {
        "labels": len(rows),
        "from_feedback": sum(r.source == "feedback" for r in rows),
        "candidate": {"version": version, **fitted},
        "champion": getattr(champion, "name", "rules"),
        "gate": gate,
        "promoted": None,
        "registry": None,
    }
    if not dry_run:
        report["registry"], target = await record(
            session, candidate, champion, fitted, gate, settings.handoff_model_path
        )
        report["promoted"] = str(target) if gate["passed"] else None
    return report


async def _run(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = create_async_engine(settings.async_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            minimum = args.min_labels or settings.decision_min_labels
            report = await train_from_decisions(session, settings, minimum, args.dry_run, args.seed)
    except TooFewLabels as exc:
        print(f"hand-off policy from the decision log: refused: {exc}", file=sys.stderr)
        return 0 if args.too_few_ok else 2
    finally:
        await engine.dispose()
    print(json.dumps(report, indent=1))
    print(verdict(report))
    return 0


def verdict(report: dict[str, Any]) -> str:
    """One line: what was decided, on which figures."""
    gate = report["gate"]
    figures = (
        f"held-out F1 {gate['candidate_f1']} vs {gate['champion_f1']} ({report['champion']}), "
        f"lift 95 % interval {gate['lift_ci95']} over {gate['held_out_conversations']} conversations"
    )
    where = report["registry"] or {}
    if report["promoted"]:
        return (
            f"promoted: handoff {where['candidate']} replaces {where['champion']}: {figures}; "
            f"{report['promoted']} now serves (running backends load it within HANDOFF_RELOAD_INTERVAL_S)"
        )
    if where:
        return f"refused: handoff {where['candidate']} stays a candidate: {figures}"
    return f"dry run: nothing registered: {figures}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--from-decisions" not in argv:
        from ml.risk import train_escalation  # the escalation risk model's own sources

        train_escalation.main(argv)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from-decisions", action="store_true", required=True)
    parser.add_argument("--min-labels", type=int, default=None, help="default: DECISION_MIN_LABELS (200)")
    parser.add_argument("--dry-run", action="store_true", help="train and compare, promote nothing")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--too-few-ok",
        action="store_true",
        help="too few labels is no failure (exit 0, the refusal printed): for a schedule on a young install",
    )
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
