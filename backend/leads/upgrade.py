"""Is a plan change an upgrade? Only an upgrade is sales interest; a downgrade or a billing switch is not.

The bot's `change_plan` intent covers both directions ("upgrade me to Pro", "downgrade to Basic", "switch to
yearly"), so the backend decides before a lead is made. Plans rank basic < plus < pro (backend/seed.py).

- The plan asked for: the bot's `product` entity when it names a plan (`requested`), else the last plan named
  in the message ("from Plus to Pro" asks for Pro).
- The current plan: the CRM's for an identified customer; for an anonymous visitor only a plan the message
  names after "from" ("from Plus to Pro"), else unknown.
- A downgrade word ("downgrade", "cheaper", "lower", "fewer features"...) means no upgrade, whatever else.
- Both plans known: an upgrade when the one asked for ranks higher.
- Asked-for plan known, current unknown (anonymous): an upgrade when it is the top plan (no one moves down to
  it), or when the message says "upgrade" and the plan is not the lowest; "switch to Plus" alone is not.
- No plan asked for: an upgrade when the message says so ("upgrade", "more features", "higher tier") and the
  customer is not known to be on the top plan already.

Anything else (a billing-period switch, "change my subscription", a plan the customer already has) is not an
upgrade, so it makes no lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RANK = {"basic": 0, "plus": 1, "pro": 2}
TOP = max(RANK, key=RANK.__getitem__)
LOWEST = min(RANK, key=RANK.__getitem__)
_PLAN = re.compile(r"\b(basic|plus|pro)\b", re.I)
_FROM_PLAN = re.compile(r"\bfrom (?:the |my |a )?(basic|plus|pro)\b", re.I)
_UP = re.compile(r"\b(upgrad\w*|more features|higher (?:tier|plan|level)|premium|step up)\b", re.I)
_DOWN = re.compile(
    r"\b(downgrad\w*|cheaper|less expensive|lower (?:tier|plan|level|price)|fewer features|step down|"
    r"scale back|smaller plan)\b",
    re.I,
)


@dataclass(frozen=True)
class PlanChange:
    current: str | None  # None: not known (an anonymous visitor who did not say)
    requested: str | None  # None: no plan named
    upgrade: bool
    rule: str  # which of the rules above decided, for the decision row


def plan_name(value: str | None) -> str | None:
    """basic, plus or pro from an entity value or word ("Pro plan", "plus"), else None."""
    if not value:
        return None
    words = value.strip().lower().removesuffix(" plan").removesuffix(" membership").strip()
    return words if words in RANK else None


def read(text: str, requested: str | None, current: str | None) -> PlanChange:
    """`requested`: the bot's entity value (may be None); `current`: the CRM's plan (None: anonymous)."""
    said_from = _FROM_PLAN.search(text)
    asked = plan_name(requested)
    if asked is None:  # the last plan named that is not the one moved away from
        start, end = said_from.span(1) if said_from else (-1, -1)
        named = [m.group(1) for m in _PLAN.finditer(text) if not start <= m.start() < end]
        asked = plan_name(named[-1]) if named else None
    now = plan_name(current) or (plan_name(said_from.group(1)) if said_from else None)
    if _DOWN.search(text):
        return PlanChange(now, asked, False, "downgrade words")
    up = _UP.search(text) is not None
    if asked is not None and now is not None:
        return PlanChange(now, asked, RANK[asked] > RANK[now], "asked-for plan against the current plan")
    if asked is not None:
        if asked == TOP:
            return PlanChange(now, asked, True, "the top plan asked for, current plan unknown")
        return PlanChange(now, asked, up and asked != LOWEST, "upgrade words, current plan unknown")
    return PlanChange(now, asked, up and now != TOP, "upgrade words, no plan named")
