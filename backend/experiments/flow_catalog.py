"""The bot flows an experiment can vary (backend/experiments/flows.py serves their variants): each flow's
name, its default and the variants the action server knows how to show. Apart from flows.py so the experiment
service can check a plan against it without importing the module that builds on the service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    name: str
    default: str
    variants: tuple[str, ...]  # the ways the action server can handle it, the default first
    description: str


FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        Flow(
            "kb-not-sure",
            "not_sure",
            ("not_sure", "suggest_closest"),
            "No confident knowledge-base answer: say so only, or also show the closest article",
        ),
    )
}


def flow_of(key: str) -> Flow | None:
    """The flow an experiment key runs, if any."""
    for name, flow in FLOWS.items():
        if key == name or key.startswith(f"{name}-"):
            return flow
    return None


def plan_problem(key: str, unit: str, variant_names: Sequence[str]) -> str | None:
    """Why the action server could not serve this experiment plan, if it runs a flow: a flow is assigned per
    conversation, uses only the flow's variants, and has the flow's default as its first (the control)."""
    flow = flow_of(key)
    if flow is None:
        return None
    if unit != "conversation":
        return f"flow {flow.name!r} is assigned per conversation, not per {unit}"
    unknown = [name for name in variant_names if name not in flow.variants]
    if unknown:
        return f"flow {flow.name!r} has no variant {', '.join(unknown)}; one of {', '.join(flow.variants)}"
    if variant_names[0] != flow.default:
        return f"the first variant (the control) of flow {flow.name!r} must be its default, {flow.default!r}"
    return None
