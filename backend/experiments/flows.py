"""Bot-flow experiments: which way the bot handles a situation in one conversation (issue 18).

A flow is a point in a bot action where it can behave in more than one way; the action server asks
`POST /api/experiments/flows/{flow}/conversations/{conversation_id}` which way, at the moment the
conversation reaches that point (so only conversations that meet the situation are enrolled).

An experiment runs a flow when its key is the flow's name or starts with it and a hyphen (keys are never
reused: `kb-not-sure`, then `kb-not-sure-2`), its unit is the conversation, its variants are ones the action
server knows, and its first variant (the control) is the flow's default. The answer is:

- the variant of an experiment of the flow the conversation is already enrolled in, even once stopped
  (sticky: one conversation never sees both ways);
- else, with a running experiment of the flow, the sticky hash's variant, its first exposure a logged
  `experiment` decision (backend/experiments/service.py `assign`);
- else the flow's default: no experiment, or one that is full (its stop rule), changes nothing.

Flows:

    kb-not-sure   action_answer_from_knowledge when no article is confident enough to answer with.
                  `not_sure` (default): say so, then the rules offer a person.
                  `suggest_closest`: say so, but show the closest article's passage, labelled as possibly
                  not the answer, with its link; the rules then offer a person just the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation
from backend.experiments import service
from backend.experiments.flow_catalog import FLOWS, Flow, flow_of
from backend.experiments.models import Assignment, Experiment

__all__ = ["FLOWS", "Flow", "FlowVariant", "flow_of", "variant"]


def _of_flow(flow: Flow):  # noqa: ANN202 - a SQL condition
    return (Experiment.key == flow.name) | Experiment.key.startswith(f"{flow.name}-", autoescape=True)


@dataclass(frozen=True)
class FlowVariant:
    flow: str
    conversation_id: str
    variant: str
    experiment: str | None  # None: the default, no experiment involved


async def variant(session: AsyncSession, flow: Flow, conversation_id: str) -> FlowVariant:
    """The conversation's way through the flow (see the module docstring); the caller commits."""
    enrolled = (
        await session.execute(
            select(Assignment.variant, Experiment.key)
            .join(Experiment, Experiment.id == Assignment.experiment_id)
            .where(_of_flow(flow), Assignment.unit_id == conversation_id)
            .order_by(Assignment.id.desc())
            .limit(1)
        )
    ).first()
    if enrolled is not None:
        return _served(flow, conversation_id, enrolled[0], enrolled[1])
    running = (
        await session.execute(
            select(Experiment)
            .where(_of_flow(flow), Experiment.status == "running", Experiment.unit == "conversation")
            .order_by(Experiment.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if running is None:
        return FlowVariant(flow.name, conversation_id, flow.default, None)
    # As for any conversation unit: no customer on the row, so the hand-over outcome counts this
    # conversation's cases only (backend/experiments/outcomes.py); the customer is read from the conversation.
    known = await session.get(Conversation, conversation_id) is not None
    exposure = await service.assign(
        session, running, conversation_id, None, conversation_id if known else None
    )
    if exposure is None:  # full: the stop rule stopped it just now
        return FlowVariant(flow.name, conversation_id, flow.default, None)
    return _served(flow, conversation_id, exposure.variant, running.key)


def _served(flow: Flow, conversation_id: str, name: str, key: str) -> FlowVariant:
    # `check` keeps unknown variants out; an experiment created before a variant was retired falls back.
    return FlowVariant(flow.name, conversation_id, name if name in flow.variants else flow.default, key)
