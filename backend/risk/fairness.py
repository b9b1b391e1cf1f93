"""Fairness audit of the churn and escalation decisions (fairlearn's MetricFrame).

A decision here is the model's score at or above its configured threshold (`churn_high_threshold`: a
retention offer is made; `escalation_threshold`: the case is raised). For each customer attribute the data
carries, the audit computes selection rate, precision and recall per group, and per metric the largest gap
between groups (`MetricFrame.difference()`) and the smallest ratio (`MetricFrame.ratio()`).

Attributes and bands (documented in backend/risk/README.md, "Fairness"):

    plan          the customer's plan (basic, plus, pro)
    tenure_band   tenure in months: 0-6, 6-12, 12-24, 24+ (a churn model's `tenure_months`, or the customer's
                  signup date on logged data)
    language      the customer's language (logged data only: no model reads it)
    channel       logged data only: the conversation's channel (web, ...); for a churn score the channel of
                  the customer's latest conversation, `none` if they never wrote
    value_band    lifetime value: <500, 500-2000, 2000+, or `anonymous` (no customer): the only customer
                  attribute an escalation model's rows carry, so its hold-out is audited by it
    segment       the customer's segment, labelled as on the segments page (backend/risk/customer_segments.py
                  says how it is found once per audit and why it is not stored): logged data over the whole
                  CRM; a hold-out whose rows carry the segment features (a CRM churn model's) segmented among
                  its own rows; an escalation hold-out has none (the report's `not_audited` says so)

Which data: `holdout_audit` uses the model's own hold-out rows (stored in its artifact; simulated or CRM, as
the version's `metrics.source` says) with their true labels; `logged_audit` uses served scores from
`risk_scores` joined with the customer and with what happened (churn: the customer is cancelled;
escalation: a case was opened for the conversation), never with anything the model computed.

Gated metric: by default only the **calibration error** (a group's mean score minus its observed rate),
`fairness_gated_metrics` adds others. Why not the selection rate, precision or recall by default: churn truly
differs by plan and tenure (Telco: new month-to-month customers leave far more often), so a faithful,
calibrated model selects, and catches, those groups at different rates; on the first CRM churn model's
simulated hold-out the selection-rate gap by plan is 0.40 and the recall gap 0.48, and gating on them would
block every honest model (with different base rates no model can equalise them all at once). A model that
scores a group higher *with no cause* shows as that group's scores running above what happened to it, which
a calibrated model never does, whatever the base rates; the three decision metrics are still computed,
shown with their gap and ratio, and can be gated by configuration.

Gated attributes: plan, tenure band, language, channel and segment (no model reads the channel, so a
calibrated one shows no calibration gap by it; a segment is a group of behaviour the churn model does read,
like the plan: churn truly differs between segments, so only a group scored above what happened to it flags).
The value band is reported but never flags a version: a customer's value is
a deliberate input of the case priority (backend/cases/routing.py weighs it), so a model that treats
high-value customers differently is doing what it was asked; on the simulated escalation hold-out it shows
precision 0.69-1.00 across value bands, which a reader should see, not a gate enforce.

Gating: small groups make gaps noise, so the flag (and the promotion block, backend/risk/registry.py) looks
only at groups with enough support: `fairness_min_group` rows for the selection rate, that many predicted
positives for precision, that many actual positives for recall. The full per-group table, fairlearn's
difference and ratio over every group, and the supported-group gap are all stored, so a reader sees what was
left out and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, selection_rate
from sklearn.metrics import precision_score, recall_score
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.conversations.models import Conversation
from backend.customers.models import Customer
from backend.risk import customer_segments
from backend.risk.jsonsafe import json_safe
from backend.risk.models import RiskScore

if TYPE_CHECKING:
    from backend.risk.artifact import RiskModel

METRICS = ("selection_rate", "precision", "recall")
CALIBRATION = "calibration_error"
DEFAULT_GATED_METRICS = (CALIBRATION,)
GATED_ATTRIBUTES = ("plan", "tenure_band", "language", "channel", "segment")
TENURE_BANDS = ((6, "0-6"), (12, "6-12"), (24, "12-24"))  # upper bounds (months, exclusive); above: 24+
VALUE_BANDS = ((500, "<500"), (2000, "500-2000"))  # upper bounds; above: 2000+


class NothingToAudit(Exception):
    """The logged sample holds no served score to audit; the message says which."""


def tenure_band(months: float | None) -> str:
    if months is None or (isinstance(months, float) and np.isnan(months)):
        return "unknown"
    for upper, name in TENURE_BANDS:
        if months < upper:
            return name
    return "24+"


def value_band(value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "anonymous"
    for upper, name in VALUE_BANDS:
        if value < upper:
            return name
    return "2000+"


def attributes_of_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The audited attributes a model's feature rows carry (see the module docstring)."""
    out: dict[str, Any] = {}
    if "plan" in rows.columns:
        out["plan"] = rows["plan"].astype(object).where(rows["plan"].notna(), "unknown").astype(str)
    if "tenure_months" in rows.columns:
        out["tenure_band"] = [tenure_band(_num(v)) for v in rows["tenure_months"]]
    if "language" in rows.columns:
        out["language"] = rows["language"].astype(str)
    if "plan" not in rows.columns and "customer_value" in rows.columns:
        out["value_band"] = [value_band(_num(v)) for v in rows["customer_value"]]
    if all(f in rows.columns for f in customer_segments.FEATURES):
        features = rows[list(customer_segments.FEATURES)].apply(pd.to_numeric, errors="coerce")
        out["segment"] = customer_segments.labels(features.to_numpy(dtype=float))
    return pd.DataFrame(out, index=rows.index)


NO_SEGMENT = (
    "not audited by segment: these rows carry no customer behaviour features (the segments page's K-Means "
    "features), so no segment can be found for them; none is invented"
)


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _precision(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(precision_score(y_true, y_pred, zero_division=np.nan))


def _recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(recall_score(y_true, y_pred, zero_division=np.nan))


def _support(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, int]:
    return {"selection_rate": len(y_true), "precision": int(y_pred.sum()), "recall": int(y_true.sum())}


def _calibration_error(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean score minus the observed rate: what a score of the group means against what happened."""
    return float(np.mean(scores) - np.mean(y_true))


def audit(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    attributes: pd.DataFrame,
    max_gap: float,
    min_group: int,
    scores: Sequence[float] | np.ndarray | None = None,
    gated_metrics: Sequence[str] = DEFAULT_GATED_METRICS,
) -> dict[str, Any]:
    """Selection rate, precision and recall (and with `scores` the calibration error) per group of each
    attribute; fairlearn's difference and ratio per metric, the supported-group gap, and the flag."""
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    gated = [m for m in gated_metrics if m in METRICS or (m == CALIBRATION and scores is not None)]
    report: dict[str, Any] = {
        "n": len(y_true),
        "max_gap": max_gap,
        "min_group": min_group,
        "attributes": {},
        "gated_attributes": [a for a in attributes.columns if a in GATED_ATTRIBUTES],
        "gated_metrics": gated,
        "flagged": False,
        "violations": [],
    }
    metrics = {"selection_rate": selection_rate, "precision": _precision, "recall": _recall}
    names = list(METRICS) + ([CALIBRATION] if scores is not None else [])
    for name in attributes.columns:
        groups = attributes[name].to_numpy(dtype=object)
        # A Series, not the array: fairlearn squeezes an ndarray of sensitive features, so a sample of one
        # subject became a 0-d array ("Feature array has too many dimensions"); a Series is taken as it is.
        features = pd.Series(groups, name=name)
        frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=features)
        by_group = frame.by_group
        difference, ratio = frame.difference().to_dict(), frame.ratio().to_dict()
        if scores is not None:
            calibrated = MetricFrame(
                metrics={CALIBRATION: _calibration_error},
                y_true=y_true,
                y_pred=np.asarray(scores, dtype=float),
                sensitive_features=features,
            )
            by_group = by_group.join(calibrated.by_group)
            difference[CALIBRATION] = calibrated.difference()[CALIBRATION]
            ratio[CALIBRATION] = None  # a signed error has no meaningful ratio
        table: dict[str, Any] = {}
        for group in by_group.index:
            mask = groups == group
            support = _support(y_true[mask], y_pred[mask])
            table[str(group)] = {
                "n": int(mask.sum()),
                **{m: by_group.loc[group, m] for m in names},
                "support": support,
            }
        summary: dict[str, Any] = {}
        for metric in names:
            # Only groups with enough support for this metric count towards the flag.
            supported = {
                g: row[metric]
                for g, row in table.items()
                if row["support"].get(metric, row["n"]) >= min_group
                and row[metric] is not None
                and not np.isnan(row[metric])
            }
            gated_gap = max(supported.values()) - min(supported.values()) if len(supported) > 1 else None
            summary[metric] = {
                "difference": difference[metric],
                "ratio": ratio[metric],
                "supported_groups": sorted(supported),
                "gated_gap": gated_gap,
                "gated": name in GATED_ATTRIBUTES and metric in gated,
            }
            if summary[metric]["gated"] and gated_gap is not None and gated_gap > max_gap:
                report["flagged"] = True
                low = min(supported, key=supported.get)
                high = max(supported, key=supported.get)
                report["violations"].append(
                    f"{metric} by {name}: {high} {supported[high]:.3f} vs {low} {supported[low]:.3f} "
                    f"(gap {gated_gap:.3f} > {max_gap:g})"
                )
        report["attributes"][name] = {"groups": table, "metrics": summary}
    return json_safe(report)


def holdout_audit(
    model: RiskModel,
    threshold: float,
    max_gap: float,
    min_group: int,
    gated_metrics: Sequence[str] = DEFAULT_GATED_METRICS,
) -> dict[str, Any]:
    """The audit on the model's own hold-out rows and true labels (what registering a candidate stores)."""
    rows = model.holdout_X
    scores = model.predict_frame(rows)
    decided = (scores >= threshold).astype(int)
    attributes = attributes_of_rows(rows)
    report = audit(model.holdout_y, decided, attributes, max_gap, min_group, scores, gated_metrics)
    report["data"] = "hold-out"
    report["threshold"] = threshold
    if "segment" not in attributes.columns:
        report["not_audited"] = {"segment": NO_SEGMENT}
    return report


async def logged_audit(
    session: AsyncSession,
    kind: str,
    threshold: float,
    max_gap: float,
    min_group: int,
    now: datetime,
    model_version_id: int | None = None,
    gated_metrics: Sequence[str] = DEFAULT_GATED_METRICS,
) -> dict[str, Any]:
    """The audit on served scores (the latest per subject) against what happened afterwards.

    churn: a customer's latest score; label: the customer is cancelled. escalation: a conversation's
    highest turn score; label: a case was opened for it. Attributes come from the customer record, the
    channel from the conversation (churn: the customer's latest one).
    No served score at all raises NothingToAudit; one subject is a sample like any other (nothing can flag).
    """
    subject = "customer" if kind == "churn" else "conversation"
    query = select(RiskScore).where(RiskScore.kind == kind, RiskScore.subject_type == subject)
    if model_version_id is not None:
        query = query.where(RiskScore.model_version_id == model_version_id)
    best: dict[str, float] = {}
    for row in (await session.execute(query.order_by(RiskScore.id))).scalars():
        # churn: the latest score acts; escalation: the highest turn of the conversation decides whether it
        # was ever raised.
        best[row.subject_id] = row.score if kind == "churn" else max(row.score, best.get(row.subject_id, 0.0))
    if not best:
        raise NothingToAudit(f"no served {kind} scores{' of this version' if model_version_id else ''} yet")
    sample = await (_churn_sample if kind == "churn" else _escalation_sample)(session, list(best))
    segment_of = await customer_segments.of_customers(session, now)  # once per audit, the page's segments
    attributes = pd.DataFrame([_subject_attributes(s, now.date(), segment_of) for s in sample])
    labels = [s.label for s in sample]
    scores = [best[s.subject_id] for s in sample]
    decided = [int(score >= threshold) for score in scores]
    report = audit(labels, decided, attributes, max_gap, min_group, scores, gated_metrics)
    report["data"] = "logged"
    report["threshold"] = threshold
    return report


@dataclass(frozen=True)
class Subject:
    """A scored subject of the logged sample: who it concerns, by which channel, and what happened."""

    subject_id: str
    customer: Customer | None
    channel: str
    label: int


async def _customers(session: AsyncSession, ids: Iterable[int]) -> dict[int, Customer]:
    query = select(Customer).where(Customer.id.in_(set(ids)))
    return {c.id: c for c in (await session.execute(query)).scalars()}


async def _churn_sample(session: AsyncSession, subject_ids: list[str]) -> list[Subject]:
    """Label: the customer is cancelled. Channel: of the customer's latest conversation (`none`: never
    wrote), the way the customer reaches support, which a retention decision may treat differently."""
    ids = [int(s) for s in subject_ids]
    customers = await _customers(session, ids)
    query = (
        select(Conversation.customer_id, Conversation.channel)
        .where(Conversation.customer_id.in_(ids))
        .order_by(Conversation.started_at)
    )
    latest = {customer_id: channel for customer_id, channel in await session.execute(query)}  # newest wins
    sample = []
    for sid, customer_id in zip(subject_ids, ids, strict=True):
        customer = customers.get(customer_id)
        cancelled = int(customer is not None and customer.status == "cancelled")
        sample.append(Subject(sid, customer, latest.get(customer_id, "none"), cancelled))
    return sample


async def _escalation_sample(session: AsyncSession, subject_ids: list[str]) -> list[Subject]:
    """Label: a case was opened for the conversation. Channel: the conversation's own."""
    query = select(Conversation).where(Conversation.id.in_(subject_ids))
    conversations = {c.id: c for c in (await session.execute(query)).scalars()}
    cased_query = select(Case.conversation_id).where(Case.conversation_id.in_(subject_ids))
    cased = set((await session.execute(cased_query)).scalars().all())
    customers = await _customers(session, (c.customer_id for c in conversations.values() if c.customer_id))
    sample = []
    for sid in subject_ids:
        conversation = conversations.get(sid)
        customer = (
            customers.get(conversation.customer_id) if conversation and conversation.customer_id else None
        )
        channel = conversation.channel if conversation else "unknown"
        sample.append(Subject(sid, customer, channel, int(sid in cased)))
    return sample


def _subject_attributes(subject: Subject, today: date, segment_of: Mapping[int, str]) -> Mapping[str, str]:
    customer = subject.customer
    if customer is None:
        anonymous = {"plan": "anonymous", "tenure_band": "anonymous", "language": "anonymous"}
        return anonymous | {"channel": subject.channel, "segment": customer_segments.ANONYMOUS}
    months = (today - customer.signup_date).days / 30.44
    return {
        "plan": customer.plan,
        "tenure_band": tenure_band(months),
        "language": customer.language,
        "channel": subject.channel,
        "segment": segment_of.get(customer.id, customer_segments.UNSEGMENTED),
    }
