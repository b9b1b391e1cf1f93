"""What supervisors review and what the dashboard counts: the daily sample and the weekly quality figures.

The sample of a day is stratified and seeded by the day itself, so everyone who opens it sees the same
decisions: every decision a person overrode, then low-confidence ones (a score within
`LOW_CONFIDENCE_MARGIN` of its threshold) for two thirds of the places left, then the rest at random. A
stratum with too few decisions leaves its places to the others. People's overrides are not sampled: they
are the review.

Quality per ISO week (Monday, UTC), kind and version:
- hand-off precision = labelled `needed` / hand-offs labelled; recall = those / (those + misses), where a
  miss is a `continue` labelled `needed`, or an unlabelled `continue` after which the customer asked for a
  person within the next two turns (its outcome, backend/decisions/outcomes.py);
- knowledge answers: precision = `right` / answers labelled; recall = those / (those + `not_sure` labelled
  `wrong`, a question the bot could have answered);
- other kinds: precision = `right` / labelled; no recall;
- override rate = decisions a person overrode / decisions (routing and priority are what can be overridden).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.decisions.models import Decision

LOW_CONFIDENCE_MARGIN = 0.1
LOW_CONFIDENCE_SHARE = 2 / 3
POSITIVE = {"handoff": "needed"}  # every other kind: "right"


@dataclass(frozen=True)
class Sampled:
    decision: Decision
    stratum: str  # overridden, low_confidence, other


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


async def overridden_ids(session: AsyncSession, ids: list[int] | None = None) -> set[int]:
    query = select(Decision.overrides_decision_id).where(Decision.overrides_decision_id.is_not(None))
    if ids is not None:
        query = query.where(Decision.overrides_decision_id.in_(ids))
    return set((await session.execute(query)).scalars())


def _low_confidence(decision: Decision) -> bool:
    if decision.score is None or decision.threshold is None:
        return False
    return abs(decision.score - decision.threshold) <= LOW_CONFIDENCE_MARGIN


async def daily_sample(session: AsyncSession, day: date, size: int) -> list[Sampled]:
    start, end = day_bounds(day)
    query = (
        select(Decision)
        .where(Decision.created_at >= start, Decision.created_at < end, Decision.kind != "override")
        .order_by(Decision.id)
    )
    candidates = list((await session.execute(query)).scalars())
    overridden = await overridden_ids(session, [d.id for d in candidates])
    rng = random.Random(day.isoformat())
    strata: dict[str, list[Decision]] = {"overridden": [], "low_confidence": [], "other": []}
    for decision in candidates:
        name = (
            "overridden"
            if decision.id in overridden
            else "low_confidence"
            if _low_confidence(decision)
            else "other"
        )
        strata[name].append(decision)
    for members in strata.values():
        rng.shuffle(members)
    chosen = [Sampled(d, "overridden") for d in strata["overridden"][:size]]
    left = size - len(chosen)
    low_places = min(round(left * LOW_CONFIDENCE_SHARE), len(strata["low_confidence"]))
    other_places = min(left - low_places, len(strata["other"]))
    low_places = min(left - other_places, len(strata["low_confidence"]))  # places the rest could not fill
    chosen += [Sampled(d, "low_confidence") for d in strata["low_confidence"][:low_places]]
    chosen += [Sampled(d, "other") for d in strata["other"][:other_places]]
    return chosen


@dataclass
class _Tally:
    n: int = 0
    labelled: int = 0
    true_positive: int = 0  # acted and labelled right / needed
    acted_labelled: int = 0  # acted (hand-off, answer, any other) and labelled
    missed: int = 0  # held back (continue, not sure) where acting was right
    overridden: int = 0


@dataclass(frozen=True)
class QualityRow:
    week: date
    kind: str
    version: str
    n: int
    labelled: int
    precision: float | None
    recall: float | None
    override_rate: float | None


def week_of(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _acted(decision: Decision) -> bool:
    return decision.action not in ("continue", "not_sure")


def _asked_for_a_person_soon(decision: Decision) -> bool:
    return bool((decision.outcome or {}).get("asked_for_person_within_2_turns"))


def _count(tally: _Tally, decision: Decision, overridden: bool) -> None:
    tally.n += 1
    tally.overridden += overridden
    positive = POSITIVE.get(decision.kind, "right")
    label = decision.feedback_label
    if label is not None:
        tally.labelled += 1
    if _acted(decision):
        if label is not None:
            tally.acted_labelled += 1
            tally.true_positive += label == positive
        return
    needed = label == ("needed" if decision.kind == "handoff" else "wrong")
    unlabelled_miss = label is None and decision.kind == "handoff" and _asked_for_a_person_soon(decision)
    tally.missed += needed or unlabelled_miss


def _row(week: date, kind: str, version: str, t: _Tally) -> QualityRow:
    precision = t.true_positive / t.acted_labelled if t.acted_labelled else None
    has_recall = kind in ("handoff", "kb_answer") and (t.true_positive + t.missed) > 0
    recall = t.true_positive / (t.true_positive + t.missed) if has_recall else None
    override_rate = t.overridden / t.n if kind != "override" and t.n else None
    return QualityRow(week, kind, version, t.n, t.labelled, precision, recall, override_rate)


async def quality(session: AsyncSession, weeks: int, now: datetime) -> list[QualityRow]:
    """Newest week first, then kind and version."""
    since = datetime.combine(week_of(now) - timedelta(weeks=weeks - 1), time(), tzinfo=UTC)
    query = select(Decision).where(Decision.created_at >= since).order_by(Decision.id)
    overridden = await overridden_ids(session)
    tallies: dict[tuple[date, str, str], _Tally] = defaultdict(_Tally)
    for decision in (await session.execute(query)).scalars():
        key = (week_of(decision.created_at), decision.kind, decision.version)
        _count(tallies[key], decision, decision.id in overridden)
    rows = [_row(*key, tally) for key, tally in tallies.items()]
    return sorted(rows, key=lambda r: (-r.week.toordinal(), r.kind, r.version))
