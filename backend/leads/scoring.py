"""Scoring a lead online: the trained conversion model when one is served, else the rules; both always kept.

The model is a calibrated classifier saved by `python -m ml.leads --save` (ml/leads.py) as the risk
models' artifact class (backend/risk/artifact.py), so its reason codes are computed the same faithful way
(backend/risk/reasons.py) and only their words are the leads' own. It is read once per file version
(path and modification time), never trained here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.leads import rules
from backend.risk.reasons import plural

log = logging.getLogger(__name__)
TOP_REASONS = 3


@dataclass(frozen=True)
class LeadScore:
    score: float
    rules_score: float
    reasons: list[dict[str, Any]]
    version: str
    fallback: str | None = None  # why the rules scored instead of the model
    scores: dict[str, float] = field(default_factory=dict)


PHRASES: dict[str, Callable[[Any], str]] = {
    "tenure_months": lambda v: f"customer for {plural(round(v), 'month')}",
    "orders_365d": lambda v: f"{plural(round(v), 'order')} in the last year",
    "spend_365d": lambda v: f"${v:,.0f} spent in the last year",
    "prior_contacts_90d": lambda v: f"{plural(round(v), 'other contact')} in 90 days",
    "quantity_log10": lambda v: f"asks about {10**v:,.0f} units or seats",
    "clv": lambda v: f"lifetime value ${v:,.0f}",
    "plan": lambda v: "anonymous visitor" if v == "anonymous" else f"{v} plan",
    "email_kind": lambda v: {
        "business": "company e-mail domain",
        "free": "free-mail address",
    }.get(v, "no usable e-mail domain"),
    "interest": lambda v: f"interest: {str(v).replace('_', ' ')}",
}
MISSING = {
    "quantity_log10": "no quantity named",
    "clv": "no lifetime value estimate",
    "tenure_months": "anonymous visitor",
    "orders_365d": "anonymous visitor",
    "spend_365d": "anonymous visitor",
    "prior_contacts_90d": "anonymous visitor",
}


def phrase(feature: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING.get(feature, f"{feature.replace('_', ' ')} unknown")
    return PHRASES[feature](value) if feature in PHRASES else f"{feature} = {value}"


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Any:
    from backend.risk import artifact  # joblib and scikit-learn load with the first model, not the app

    model = artifact.load(Path(path))
    if model.kind != "lead":
        raise TypeError(f"{path} holds a {model.kind} model, not a lead model")
    return model


def served_model(path: Path) -> tuple[Any | None, str | None]:
    """The served model, or None and why not (no file yet, or a file that does not load)."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None, "no lead model: run python -m ml.leads --save"
    try:
        return _load(str(path), stamp), None
    except Exception as exc:  # noqa: BLE001 - any unreadable file means the rules decide, and the log says why
        log.warning("lead model %s does not load: %r", path, exc)
        return None, f"lead model does not load: {type(exc).__name__}"


def score(row: Mapping[str, Any], model_path: Path) -> LeadScore:
    """The lead's score and reasons: the model's when it loads and scores, else the rules' (and why)."""
    baseline, fired = rules.score(row)
    model, why = served_model(model_path)
    if model is not None:
        try:
            scored = model.score(row, top=TOP_REASONS)
        except Exception as exc:  # noqa: BLE001 - a lead is never lost to a scoring error; the rules decide
            log.warning("lead model failed on a lead: %r", exc)
            why = f"lead model failed: {type(exc).__name__}"
        else:
            reasons = [r.as_dict() | {"text": phrase(r.feature, r.value)} for r in scored.reasons]
            version = str(model.metrics.get("version", "lead model"))[:128]
            probability = float(scored.score)
            both = {"model": probability, "rules": baseline}
            return LeadScore(probability, baseline, reasons, version, None, both)
    reasons = [{"feature": "rules", "value": None, "contribution": None, "direction": "raises", "text": t}
               for t in fired[:TOP_REASONS]]  # fmt: skip
    return LeadScore(baseline, baseline, reasons, rules.VERSION, why, {"rules": baseline})
