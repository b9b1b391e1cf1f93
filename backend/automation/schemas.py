"""The rule language and the automation API's bodies.

A rule is `trigger -> conditions -> actions`, optionally scoped to a business-hours calendar.

Conditions are a tree: a leaf compares one context field with a value, `{"field": "sentiment_score",
"op": "lt", "value": -0.5}`; `{"all": [...]}`, `{"any": [...]}` and `{"not": {...}}` combine them. The
context fields (every one may be null, and a comparison with null is false, except `is_set`/`is_not_set`):

    intent                      str    the intent of the customer's latest message
    sentiment_label             str    negative, neutral, positive (latest customer message)
    sentiment_score             float  its signed score, -1..1
    escalation_score            float  0..1, the open (or latest) case's escalation risk
    churn_score                 float  0..1, its churn risk
    plan                        str    the customer's plan (basic, plus, premium, ...)
    customer_value              float  the customer's lifetime value
    language                    str    the customer's language code
    skill                       str    the open case's team: general, billing, technical, retention, sales
    tags                        list   tags on the conversation (operator `contains`)
    owner                       str    bot or human
    business_hours              bool   the event happened inside the rule's calendar (or the default one)
    minutes_since_last_contact  float  minutes since automation last sent this customer a message
    case_waiting_minutes        float  minutes the open case has waited for an agent's first reply
    csat                        int    the rating, on `csat_received`
    marketing_consent           bool   the customer gave marketing consent (false for an anonymous visitor)

The snapshot also carries `contact_channels` (the customer's accepted channels: chat, email, phone), which
no condition reads: it and marketing_consent are what the consent guardrail checks for marketing actions
(`is_marketing`), and the decision log keeps both as evidence.

Operators: eq, ne, lt, le, gt, ge (numbers; eq/ne also strings and booleans), in, not_in (a list), contains
(tags), is_set, is_not_set (no value).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from backend.core.text import TEXT, check_text

SKILLS = ("general", "billing", "technical", "retention", "sales")
NUMBER_FIELDS = frozenset(
    {
        "sentiment_score",
        "escalation_score",
        "churn_score",
        "customer_value",
        "minutes_since_last_contact",
        "case_waiting_minutes",
        "csat",
    }
)
TEXT_FIELDS = frozenset({"intent", "sentiment_label", "plan", "language", "skill", "owner"})
BOOLEAN_FIELDS = frozenset({"business_hours", "marketing_consent"})
FIELDS = NUMBER_FIELDS | TEXT_FIELDS | BOOLEAN_FIELDS | {"tags"}
Field_ = Literal[
    "intent",
    "sentiment_label",
    "sentiment_score",
    "escalation_score",
    "churn_score",
    "plan",
    "customer_value",
    "language",
    "skill",
    "tags",
    "owner",
    "business_hours",
    "minutes_since_last_contact",
    "case_waiting_minutes",
    "csat",
    "marketing_consent",
]
Operator = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "is_set", "is_not_set"]
ORDERING = frozenset({"lt", "le", "gt", "ge"})
MAX_DEPTH = 6
MAX_LEAVES = 40
Short = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True), TEXT]
MAX_LIST = 100
Strict = ConfigDict(extra="forbid")


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return check_text(value)
    raise ValueError("a value is text, a number, true or false, or a list of them")


def _value(value: Any) -> Any:
    """One value, or a list of them for in / not_in; text is checked like every request string."""
    if value is None:
        return None
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise ValueError(f"a list of values has at most {MAX_LIST} items")
        return [_scalar(item) for item in value]
    return _scalar(value)


def _comparable(field: str, op: str, value: Any) -> None:
    """Refuse what could never be true, so a typo fails at save time, not silently at run time."""
    if op in ("is_set", "is_not_set"):
        if value is not None:
            raise ValueError(f"{op} takes no value")
        return
    if value is None:
        raise ValueError(f"{op} needs a value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{op} needs a non-empty list of values")
        return
    if isinstance(value, list):
        raise ValueError(f"{op} compares with one value, not a list")
    if op == "contains" and field != "tags":
        raise ValueError("contains is for tags")
    if field == "tags" and op != "contains":
        raise ValueError("tags take contains, is_set or is_not_set")
    if op in ORDERING and (field not in NUMBER_FIELDS or isinstance(value, bool | str)):
        raise ValueError(f"{op} compares a number field with a number; {field} is not one")
    if field in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{field} is a number")
    if field in BOOLEAN_FIELDS and not isinstance(value, bool):
        raise ValueError(f"{field} is true or false")


class Condition(BaseModel):
    """One node of the tree: a comparison (`field`, `op`, `value`), or exactly one of `all`, `any`, `not`.

    One model rather than a union of four, so a refused input is reported where it is
    (`conditions.all.0.value`), not under the name of every union member it failed to be."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: Field_ | None = None
    op: Operator | None = None
    value: Annotated[Any, BeforeValidator(_value)] = None
    all: list[Condition] | None = Field(default=None, min_length=1)
    any: list[Condition] | None = Field(default=None, min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    @property
    def is_comparison(self) -> bool:
        return self.field is not None or self.op is not None

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [self.is_comparison, self.all is not None, self.any is not None, self.not_ is not None]
        if sum(forms) != 1:
            raise ValueError("a condition is a comparison (field, op, value) or exactly one of all, any, not")
        if not self.is_comparison:
            if self.value is not None:
                raise ValueError("value belongs to a comparison (field, op, value)")
            return self
        if self.field is None or self.op is None:
            raise ValueError("a comparison needs a field and an operator")
        _comparable(self.field, self.op, self.value)
        return self


Condition.model_rebuild()


def children(condition: Condition) -> list[Condition]:
    if condition.all is not None:
        return condition.all
    if condition.any is not None:
        return condition.any
    if condition.not_ is not None:
        return [condition.not_]
    return []


def _measure(condition: Condition, depth: int = 1) -> tuple[int, int]:
    """(depth, leaves) of a condition tree."""
    below = [_measure(child, depth + 1) for child in children(condition)]
    if not below:
        return depth, 1
    return max(d for d, _ in below), sum(n for _, n in below)


# ------------------------------------------------------------------------------------------ triggers

TriggerType = Literal[
    "message_received",
    "conversation_opened",
    "case_created",
    "case_waiting",
    "first_response_sla",
    "case_resolved",
    "csat_received",
    "score_crossed",
    "conversation_idle",
    "conversation_reopened",
    "schedule",
]
TIMED = frozenset({"case_waiting", "conversation_idle", "schedule"})
# Bounds the slots a 90-day dry-run lists (about 26,000 at 5 minutes, of which it keeps the newest).
MIN_SCHEDULE_MINUTES = 5


class Trigger(BaseModel):
    """`minutes` for case_waiting, conversation_idle and schedule; `percent` of the first-response SLA used
    up for first_response_sla (100 = breached); `score` and `threshold` for score_crossed.

    conversation_reopened: a customer writes in a conversation that had ended since their previous message
    (a case of it was resolved, a rule or agent closed it, or it went quiet for ANALYTICS_IDLE_END_S with no
    open case, which is when the idle sweep ends it). Found from the stored rows, so the dry-run sees it too.

    schedule: every `minutes` minutes on the UTC clock (slots at multiples of `minutes` since midnight UTC
    1970, so every 60 is on the hour). No cron library is installed; an interval plus the rule's `active`
    calendar scope gives "every N minutes in business hours". With `target` active_conversations (the
    default) a slot is one event per conversation with a message in the slot's last `minutes` minutes (a set
    the stored rows show, so the dry-run replays it); with `none` it is one event without a conversation,
    for notify_supervisors and webhook actions. A slot missed while no worker ran is not caught up."""

    model_config = Strict

    type: TriggerType
    minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    percent: int | None = Field(default=None, ge=1, le=500)
    score: Literal["escalation_score", "churn_score"] | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)
    target: Literal["active_conversations", "none"] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        if (self.type in TIMED) != (self.minutes is not None):
            raise ValueError(
                "minutes is set for case_waiting, conversation_idle and schedule, and only for them"
            )
        if self.type == "schedule" and self.minutes is not None and self.minutes < MIN_SCHEDULE_MINUTES:
            raise ValueError(f"a schedule runs at most every {MIN_SCHEDULE_MINUTES} minutes")
        if self.target is not None and self.type != "schedule":
            raise ValueError("target is for schedule only")
        if (self.type == "first_response_sla") != (self.percent is not None):
            raise ValueError("percent is set for first_response_sla, and only for it")
        crossed = self.type == "score_crossed"
        if crossed != (self.score is not None) or crossed != (self.threshold is not None):
            raise ValueError("score and threshold are set for score_crossed, and only for it")
        return self


# ------------------------------------------------------------------------------------------- actions


class SetPriority(BaseModel):
    model_config = Strict
    type: Literal["set_priority"]
    value: float = Field(ge=0, le=100)


class AddTag(BaseModel):
    model_config = Strict
    type: Literal["add_tag"]
    tag: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class AssignTeam(BaseModel):
    model_config = Strict
    type: Literal["assign_team"]
    skill: Literal["general", "billing", "technical", "retention", "sales"]


EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+$"


class AssignAgent(BaseModel):
    """Offer the case to one named agent (by email); an agent who is not online fails the action."""

    model_config = Strict
    type: Literal["assign_agent"]
    agent: Annotated[str, StringConstraints(max_length=320, strip_whitespace=True, pattern=EMAIL_SHAPE)]


Canned = Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True), TEXT]


class SendMessage(BaseModel):
    """`marketing`: the message sells or retains (a promotion, a win-back) rather than serves the case.
    A marketing message needs the customer's marketing consent and chat among their contact channels."""

    model_config = Strict
    type: Literal["send_message"]
    text: Canned
    marketing: bool = False


class RetentionOfferAction(BaseModel):
    """Offer a retention offer through backend/experiments/retention.py: randomised with a control arm
    while the retention experiment runs, else the uplift policy or the offer rules; the offer path's own
    contact cap applies. Always marketing: it needs consent and chat among the contact channels."""

    model_config = Strict
    type: Literal["retention_offer"]


class NotifySupervisors(BaseModel):
    model_config = Strict
    type: Literal["notify_supervisors"]
    text: Canned


class HandBack(BaseModel):
    model_config = Strict
    type: Literal["hand_back"]


class Close(BaseModel):
    model_config = Strict
    type: Literal["close"]


class Webhook(BaseModel):
    model_config = Strict
    type: Literal["webhook"]
    url: AnyHttpUrl
    # The rule's own signing secret: the receiver checks HMAC-SHA256(secret, f"{timestamp}.{body}").
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200), TEXT]

    @field_validator("url")
    @classmethod
    def _http(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.scheme not in ("http", "https"):
            raise ValueError("a webhook is http or https")
        return value


Action = Annotated[
    SetPriority
    | AddTag
    | AssignTeam
    | AssignAgent
    | SendMessage
    | RetentionOfferAction
    | NotifySupervisors
    | HandBack
    | Close
    | Webhook,
    Field(discriminator="type"),
]
CONTACT_ACTIONS = frozenset({"send_message", "retention_offer"})  # what the per-customer contact cap counts
# Actions that need no conversation: the only ones a conversation-less schedule may run.
UNBOUND_ACTIONS = frozenset({"notify_supervisors", "webhook"})


def is_marketing(action: dict[str, Any]) -> bool:
    """Whether an action contacts the customer for marketing (and so needs their consent)."""
    return action.get("type") == "retention_offer" or (
        action.get("type") == "send_message" and bool(action.get("marketing"))
    )


# ------------------------------------------------------------------------------------------ calendar

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Calendar(BaseModel):
    """Business hours: weekdays (0 = Monday) from `opens` to `closes` local time in `timezone`, except
    the holiday dates."""

    model_config = Strict

    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64), TEXT] = "UTC"
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4], max_length=7)
    opens: Annotated[str, TEXT] = "09:00"
    closes: Annotated[str, TEXT] = "17:00"
    holidays: list[date] = Field(default=[], max_length=366)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("a time is HH:MM, 24-hour")
        return value

    @model_validator(mode="after")
    def _order(self) -> Calendar:
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        return self

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays or local.weekday() not in self.days:
            return False
        return time.fromisoformat(self.opens) <= local.time() < time.fromisoformat(self.closes)


class RuleDefinition(BaseModel):
    """What a version stores. `active` scopes the whole rule to the calendar (default: the company's)."""

    model_config = Strict

    trigger: Trigger
    conditions: Condition | None = None
    actions: list[Action] = Field(min_length=1, max_length=10)
    active: Literal["always", "business_hours", "outside_business_hours"] = "always"
    calendar: Calendar | None = None

    @field_validator("conditions", mode="before")
    @classmethod
    def _shallow(cls, value: Any) -> Any:
        """Refuse a deep tree before validating it: the error is one clear line, not one per branch."""
        stack, seen = [(value, 1)], 0
        while stack:
            node, depth = stack.pop()
            seen += 1
            if depth > MAX_DEPTH or seen > MAX_LEAVES * 4:
                raise ValueError(f"conditions are at most {MAX_DEPTH} deep with {MAX_LEAVES} comparisons")
            if isinstance(node, dict):
                stack += [(child, depth + 1) for child in node.values() if isinstance(child, dict | list)]
            elif isinstance(node, list):
                stack += [(child, depth) for child in node if isinstance(child, dict | list)]
        return value

    @model_validator(mode="after")
    def _actionable(self) -> RuleDefinition:
        """A schedule without conversations can only run actions that need none: refuse the rest now."""
        if self.trigger.type == "schedule" and self.trigger.target == "none":
            bound = sorted({a.type for a in self.actions} - UNBOUND_ACTIONS)
            if bound:
                raise ValueError(f"a schedule with target none has no conversation for {', '.join(bound)}")
        return self

    @model_validator(mode="after")
    def _bounded(self) -> RuleDefinition:
        if self.conditions is not None:
            depth, leaves = _measure(self.conditions)
            if depth > MAX_DEPTH or leaves > MAX_LEAVES:
                raise ValueError(f"conditions are at most {MAX_DEPTH} deep with {MAX_LEAVES} comparisons")
        return self


# --------------------------------------------------------------------------------------- API bodies

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), TEXT]


class RuleIn(BaseModel):
    model_config = Strict
    name: Name
    definition: RuleDefinition


class VersionIn(BaseModel):
    model_config = Strict
    definition: RuleDefinition


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int
    number: int
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    dry_run_at: datetime | None
    dry_run_summary: dict[str, Any] | None


class RuleOut(BaseModel):
    id: int
    name: str
    enabled: bool
    active_version: VersionOut | None
    latest_version: VersionOut | None
    versions: int


class PlannedActionOut(BaseModel):
    rule_id: int
    version_id: int
    event: dict[str, Any]
    action_index: int
    action: dict[str, Any]
    outcome: Literal["run", "blocked"]
    reason: str | None


class DryRunOut(BaseModel):
    version_id: int
    days: int
    events: int
    matched_events: int
    planned: list[PlannedActionOut]


class ExceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int
    version_id: int
    conversation_id: str | None
    case_id: int | None
    customer_id: int | None
    action: dict[str, Any]
    event: dict[str, Any]
    kind: str
    reason: str
    attempts: int
    state: str
    created_at: datetime
    handled_by: str | None
    handled_at: datetime | None


class TagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    conversation_id: str
    tag: str
    created_at: datetime
