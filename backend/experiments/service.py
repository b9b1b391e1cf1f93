"""Experiments: create, start, stop, assign units (each first exposure a logged decision), read results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.database import utcnow
from backend.decisions import service as decisions
from backend.decisions.models import Decision
from backend.experiments import stats
from backend.experiments.assignment import variant_for
from backend.experiments.flow_catalog import plan_problem
from backend.experiments.models import Assignment, Experiment
from backend.experiments.outcomes import METRICS

PLANNED_STOP = "planned sample size reached (fixed horizon)"
MIN_EFFECT = 0.001  # smaller differences need billions of units per arm
MAX_PER_ARM = 10_000_000


class ExperimentError(ValueError):
    """A request the experiment's state or definition does not allow (the message says why)."""


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    unit: str
    variants: list[dict[str, Any]]
    primary_outcome: str
    guardrails: list[str]
    baseline_rate: float
    minimum_effect: float
    alpha: float = 0.05
    power: float = 0.8


def check(plan: Plan) -> int:
    """Validate a plan; returns its planned units per arm."""
    names = [v["name"] for v in plan.variants]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ExperimentError("an experiment needs at least two variants with distinct names")
    if any(float(v["weight"]) <= 0 for v in plan.variants):
        raise ExperimentError("every variant needs a positive traffic weight")
    for metric in (plan.primary_outcome, *plan.guardrails):
        if metric not in METRICS:
            raise ExperimentError(f"unknown outcome {metric!r}; one of {', '.join(METRICS)}")
    if abs(plan.minimum_effect) < MIN_EFFECT:
        raise ExperimentError(f"the minimum effect must be at least {MIN_EFFECT} (absolute) to plan for")
    try:
        arms = len(names)
        planned = stats.planned_per_arm(plan.baseline_rate, plan.minimum_effect, plan.alpha, plan.power, arms)
    except ValueError as exc:
        raise ExperimentError(str(exc)) from exc
    if planned > MAX_PER_ARM:
        raise ExperimentError(
            f"{planned} units per arm planned; more than {MAX_PER_ARM} is no experiment to run"
        )
    problem = plan_problem(plan.key, plan.unit, [str(v["name"]) for v in plan.variants])
    if problem is not None:
        raise ExperimentError(problem)
    return planned


async def create(session: AsyncSession, plan: Plan, by: str) -> Experiment:
    planned = check(plan)
    if await by_key(session, plan.key) is not None:
        raise ExperimentError(f"an experiment with key {plan.key!r} exists; keys are never reused")
    experiment = Experiment(
        key=plan.key, name=plan.name, unit=plan.unit, variants=plan.variants,
        primary_outcome=plan.primary_outcome, guardrails=list(plan.guardrails),
        baseline_rate=plan.baseline_rate, minimum_effect=plan.minimum_effect, alpha=plan.alpha,
        power=plan.power, planned_per_arm=planned, status="draft", created_by=by,
    )  # fmt: skip
    session.add(experiment)
    await session.flush()
    return experiment


async def by_key(session: AsyncSession, key: str) -> Experiment | None:
    return (await session.execute(select(Experiment).where(Experiment.key == key))).scalar_one_or_none()


def start(experiment: Experiment) -> None:
    if experiment.status != "draft":
        raise ExperimentError(f"only a draft starts; this one is {experiment.status}")
    experiment.status, experiment.started_at = "running", utcnow()


def stop(experiment: Experiment, reason: str) -> None:
    if experiment.status != "running":
        raise ExperimentError(f"only a running experiment stops; this one is {experiment.status}")
    experiment.status, experiment.stopped_at, experiment.stop_reason = "stopped", utcnow(), reason


async def counts(session: AsyncSession, experiment: Experiment) -> dict[str, int]:
    query = (
        select(Assignment.variant, func.count())
        .where(Assignment.experiment_id == experiment.id)
        .group_by(Assignment.variant)
    )
    found = dict((await session.execute(query)).all())
    return {v["name"]: int(found.get(v["name"], 0)) for v in experiment.variants}


async def existing(session: AsyncSession, experiment: Experiment, unit_id: str) -> Assignment | None:
    query = select(Assignment).where(Assignment.experiment_id == experiment.id, Assignment.unit_id == unit_id)
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True)
class Exposure:
    variant: str
    first: bool  # the unit's first exposure: the caller logs it as a decision and links it with `enrol`


async def expose(session: AsyncSession, experiment: Experiment, unit_id: str) -> Exposure | None:
    """The unit's variant, or None when the experiment takes no new units (not running, or its planned
    sample is complete: the stop rule, applied here). A unit already enrolled keeps its variant."""
    if (found := await existing(session, experiment, unit_id)) is not None:
        return Exposure(found.variant, first=False)
    if experiment.status != "running":
        return None
    if min((await counts(session, experiment)).values()) >= experiment.planned_per_arm:
        stop(experiment, PLANNED_STOP)
        return None
    return Exposure(variant_for(experiment.key, unit_id, experiment.variants), first=True)


def enrol(
    session: AsyncSession,
    experiment: Experiment,
    unit_id: str,
    variant: str,
    decision: Decision,
    customer_id: int | None,
    conversation_id: str | None,
) -> Assignment:
    row = Assignment(
        experiment_id=experiment.id, unit_id=unit_id, variant=variant, decision_id=decision.id,
        customer_id=customer_id, conversation_id=conversation_id, assigned_at=decision.created_at, outcome={},
    )  # fmt: skip
    session.add(row)
    return row


async def assign(
    session: AsyncSession,
    experiment: Experiment,
    unit_id: str,
    customer_id: int | None = None,
    conversation_id: str | None = None,
) -> Exposure | None:
    """Assign a unit of a generic experiment; its first exposure is one `experiment` decision row. The
    caller commits."""
    exposure = await expose(session, experiment, unit_id)
    if exposure is None or not exposure.first:
        return exposure
    decision = decisions.record(
        session, "experiment", action=f"variant:{exposure.variant}", version=f"experiment {experiment.key}",
        inputs={"experiment": experiment.key, "unit": experiment.unit, "unit_id": unit_id,
                "variant": exposure.variant},
        reasons=["sticky hash of experiment key and unit id"],
        customer_id=customer_id, conversation_id=conversation_id,
    )  # fmt: skip
    await session.flush()
    enrol(session, experiment, unit_id, exposure.variant, decision, customer_id, conversation_id)
    return exposure


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class ArmResult:
    variant: str
    assigned: int
    measured: int  # units whose outcome is known
    successes: int
    rate: stats.Interval


@dataclass(frozen=True)
class Comparison:
    variant: str
    metric: str
    difference: stats.Interval  # treatment minus control


@dataclass(frozen=True)
class Results:
    experiment: Experiment
    metric_arms: dict[str, list[ArmResult]]
    comparisons: list[Comparison]
    confidence: float
    final: bool
    note: str


async def results(session: AsyncSession, experiment: Experiment, at: datetime | None = None) -> Results:
    units = list(
        (await session.execute(select(Assignment).where(Assignment.experiment_id == experiment.id))).scalars()
    )
    arms = [v["name"] for v in experiment.variants]
    confidence = 1 - experiment.alpha / max(len(arms) - 1, 1)  # the Bonferroni level of the plan
    metric_arms: dict[str, list[ArmResult]] = {}
    comparisons: list[Comparison] = []
    for metric in dict.fromkeys([experiment.primary_outcome, *experiment.guardrails]):
        rows = [_arm(units, arm, metric, confidence) for arm in arms]
        metric_arms[metric] = rows
        control = rows[0]
        for arm in rows[1:]:
            diff = stats.newcombe(
                control.successes, control.measured, arm.successes, arm.measured, confidence
            )
            comparisons.append(Comparison(arm.variant, metric, diff))
    final = experiment.status == "stopped" and all(u.outcome_final for u in units)
    note = (
        "final: the planned sample is enrolled and every outcome is in"
        if final
        else "interim: fixed-horizon design, analyse only once the planned sample's outcomes are all in"
    )
    return Results(experiment, metric_arms, comparisons, confidence, final, note)


def _arm(units: list[Assignment], arm: str, metric: str, confidence: float) -> ArmResult:
    mine = [u for u in units if u.variant == arm]
    known = [u.outcome.get(metric) for u in mine if u.outcome.get(metric) is not None]
    successes = sum(1 for value in known if value)
    return ArmResult(arm, len(mine), len(known), successes, stats.wilson(successes, len(known), confidence))
