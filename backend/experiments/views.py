"""The experiments API (/api/experiments): admins create, start and stop; supervisors read results; the
action server assigns units. Customers' consent and contact preferences: any staff member, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy import select

from backend.audit import service as audit
from backend.auth.dependencies import AdminDep, StaffDep, SupervisorDep, require_service
from backend.conversations.models import Conversation
from backend.core.dependencies import SessionDep
from backend.core.errors import error_response, found_or_404
from backend.core.params import RecordId
from backend.customers.models import Customer
from backend.experiments import flows, service
from backend.experiments.models import CustomerValue, Experiment
from backend.experiments.schemas import (
    ArmOut,
    AssignIn,
    AssignOut,
    ComparisonOut,
    ExperimentIn,
    ExperimentOut,
    FlowVariantOut,
    IntervalOut,
    Key,
    PreferencesIn,
    PreferencesOut,
    ResultsOut,
    StopIn,
    UnitId,
)
from backend.experiments.stats import Interval

router = APIRouter(prefix="/api/experiments", tags=["experiments"])
preferences_router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
NOT_FOUND = error_response(404, "No such experiment.")
CONFLICT = error_response(409, "Not allowed in the experiment's state (the reason is given).")
KeyPath = Annotated[Key, Path(description="The experiment's key.")]
METHOD = (
    "Fixed horizon: enrols until every arm has its planned units, then stops; final once every outcome "
    "is in. "
    "Rates: Wilson score intervals; differences (variant minus control): Newcombe's hybrid score interval; "
    "at 1 - alpha/(arms - 1) confidence (Bonferroni)."
)


def _actor(agent: object) -> str:
    return f"agent:{agent.id}"  # type: ignore[attr-defined]


async def _get(session: SessionDep, key: str) -> Experiment:
    return found_or_404(await service.by_key(session, key), f"no experiment {key!r}")


def _snapshot(experiment: Experiment) -> dict:
    return ExperimentOut.model_validate(experiment).model_dump(mode="json")


@router.get("", response_model=list[ExperimentOut])
async def list_experiments(session: SessionDep, _: SupervisorDep) -> list[ExperimentOut]:
    found = (await session.execute(select(Experiment).order_by(Experiment.id.desc()))).scalars()
    return [ExperimentOut.model_validate(e) for e in found]


@router.post("", response_model=ExperimentOut, status_code=201, responses=CONFLICT)
async def create_experiment(body: ExperimentIn, session: SessionDep, admin: AdminDep) -> ExperimentOut:
    """A draft with its planned sample size per arm from the power calculation."""
    plan = service.Plan(
        **body.model_dump(exclude={"variants"}), variants=[v.model_dump() for v in body.variants]
    )
    try:
        experiment = await service.create(session, plan, _actor(admin))
    except service.ExperimentError as exc:
        status_code = 409 if "exists" in str(exc) else 422
        raise HTTPException(status_code, str(exc)) from exc
    audit.record(
        session, _actor(admin), "experiment.create", "experiment", experiment.key, after=_snapshot(experiment)
    )
    await session.commit()
    return ExperimentOut.model_validate(experiment)


@router.get("/{key}", response_model=ExperimentOut, responses=NOT_FOUND)
async def get_experiment(key: KeyPath, session: SessionDep, _: SupervisorDep) -> ExperimentOut:
    return ExperimentOut.model_validate(await _get(session, key))


async def _transition(
    session: SessionDep, key: str, admin: object, action: str, reason: str = ""
) -> ExperimentOut:
    experiment = await _get(session, key)
    before = _snapshot(experiment)
    try:
        service.start(experiment) if action == "start" else service.stop(experiment, reason)
    except service.ExperimentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    audit.record(
        session, _actor(admin), f"experiment.{action}", "experiment", key, before, _snapshot(experiment)
    )
    await session.commit()
    return ExperimentOut.model_validate(experiment)


@router.post("/{key}/start", response_model=ExperimentOut, responses=NOT_FOUND | CONFLICT)
async def start_experiment(key: KeyPath, session: SessionDep, admin: AdminDep) -> ExperimentOut:
    return await _transition(session, key, admin, "start")


@router.post("/{key}/stop", response_model=ExperimentOut, responses=NOT_FOUND | CONFLICT)
async def stop_experiment(key: KeyPath, body: StopIn, session: SessionDep, admin: AdminDep) -> ExperimentOut:
    """Stop before the planned size: the results stay interim (a stop decided by peeking biases them)."""
    return await _transition(session, key, admin, "stop", body.reason)


@router.post(
    "/{key}/assignments",
    response_model=AssignOut,
    responses=NOT_FOUND,
    dependencies=[Depends(require_service)],
)
async def assign(key: KeyPath, body: AssignIn, session: SessionDep) -> AssignOut:
    """The unit's variant (sticky); a first exposure is logged as an `experiment` decision."""
    experiment = await _get(session, key)
    known = experiment.unit == "customer" and body.unit_id.isdigit() and len(body.unit_id) <= 18
    customer_id = int(body.unit_id) if known else None  # a database integer, or no customer row
    if customer_id is not None and await session.get(Customer, customer_id) is None:
        customer_id = None
    conversation_id = body.unit_id if experiment.unit == "conversation" else None
    if conversation_id is not None and await session.get(Conversation, conversation_id) is None:
        conversation_id = None
    exposure = await service.assign(session, experiment, body.unit_id, customer_id, conversation_id)
    await session.commit()
    return AssignOut(experiment=key, unit_id=body.unit_id, variant=exposure.variant if exposure else None)


@router.post(
    "/flows/{flow}/conversations/{conversation_id}",
    response_model=FlowVariantOut,
    responses=error_response(404, "No such flow."),
    dependencies=[Depends(require_service)],
)
async def flow_variant(
    flow: Annotated[Key, Path(description="The flow's name (backend/experiments/flows.py).")],
    conversation_id: Annotated[UnitId, Path(description="The Rasa sender id (the conversation's id).")],
    session: SessionDep,
) -> FlowVariantOut:
    """The way the bot handles `flow` in this conversation: sticky, its first exposure in a running
    experiment a logged `experiment` decision; the flow's default when no experiment runs it."""
    known = found_or_404(flows.FLOWS.get(flow), f"no flow {flow!r}")
    found = await flows.variant(session, known, conversation_id)
    await session.commit()
    return FlowVariantOut.model_validate(found, from_attributes=True)


def _interval(found: Interval) -> IntervalOut:
    estimate = None if found.estimate != found.estimate else found.estimate  # NaN: nothing measured yet
    return IntervalOut(estimate=estimate, low=found.low, high=found.high)


@router.get("/{key}/results", response_model=ResultsOut, responses=NOT_FOUND)
async def results(key: KeyPath, session: SessionDep, _: SupervisorDep) -> ResultsOut:
    found = await service.results(session, await _get(session, key))
    return ResultsOut(
        experiment=ExperimentOut.model_validate(found.experiment),
        metrics={
            metric: [
                ArmOut(variant=a.variant, assigned=a.assigned, measured=a.measured, successes=a.successes,
                       rate=_interval(a.rate))
                for a in arms
            ]
            for metric, arms in found.metric_arms.items()
        },
        comparisons=[
            ComparisonOut(variant=c.variant, metric=c.metric, difference=_interval(c.difference))
            for c in found.comparisons
        ],
        confidence=found.confidence,
        final=found.final,
        note=found.note,
        method=METHOD,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ preferences


async def _customer(session: SessionDep, customer_id: int) -> Customer:
    return found_or_404(await session.get(Customer, customer_id), "customer not found")


async def _preferences(session: SessionDep, customer: Customer) -> PreferencesOut:
    value = await session.get(CustomerValue, customer.id)
    return PreferencesOut(
        customer_id=customer.id,
        marketing_consent=customer.marketing_consent,
        contact_channels=list(customer.contact_channels or []),
        max_offers_per_month=customer.max_offers_per_month,
        lifetime_value_estimate=value.value if value else None,
        lifetime_value_method=value.method if value else None,
    )


@preferences_router.get(
    "/{customer_id}/preferences", response_model=PreferencesOut, responses=error_response(404, "No customer.")
)
async def get_preferences(customer_id: RecordId, session: SessionDep, _: StaffDep) -> PreferencesOut:
    """Marketing consent, contact preferences and the lifetime-value estimate (the agent's customer panel)."""
    return await _preferences(session, await _customer(session, customer_id))


@preferences_router.put(
    "/{customer_id}/preferences", response_model=PreferencesOut, responses=error_response(404, "No customer.")
)
async def put_preferences(
    customer_id: RecordId, body: PreferencesIn, session: SessionDep, staff: StaffDep
) -> PreferencesOut:
    """Record what the customer said about marketing and contact; audited with before and after."""
    customer = await _customer(session, customer_id)
    fields = ("marketing_consent", "contact_channels", "max_offers_per_month")
    before = {name: getattr(customer, name) for name in fields}
    customer.marketing_consent = body.marketing_consent
    customer.contact_channels = list(dict.fromkeys(body.contact_channels))
    customer.max_offers_per_month = body.max_offers_per_month
    after = {name: getattr(customer, name) for name in fields}
    audit.record(session, _actor(staff), "customer.preferences", "customer", customer.id, before, after)
    await session.commit()
    return await _preferences(session, customer)
