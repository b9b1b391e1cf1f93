"""Seeded simulator of support history, so a fresh install has something to train its risk models on.

Both generators produce raw records (conversation turns, customer activity) and run them through the same
feature functions as live scoring (backend/risk/features.py). Everything is driven by one
`numpy.random.Generator(seed)`: the same seed gives the same rows, the same fingerprint and the same model.
The numbers below are assumptions of a plausible shop, not measurements; once real outcomes exist, retrain
from the database and let the promotion gate decide.

Escalation story (one conversation)
-----------------------------------
1. The customer is known (80%) or an anonymous visitor. Known customers have a lifetime value
   (log-normal, median about $400), a churn risk (Beta(2, 5), mean 0.29) and 0-3 other contacts in the past
   week (more when their issue was not solved last time).
2. Each conversation has a hidden *frustration* level. It starts from the repeat contacts, the issue
   (delays and failed payments start higher), the churn risk and a personal temperament drawn from N(0, 1)
   that the features never see.
3. The issue is one of the shop's intents, each with a chance per turn that the bot resolves it
   (order status is easy, cancellations and technical problems are hard).
4. Every customer turn:
   - the NLU misunderstands with a probability that grows with difficulty -> `nlu_fallback`, frustration up;
   - otherwise the intent is the issue on the first turn, then mostly answers to the bot's questions
     (`inform`, `affirm`, `deny`) or the issue again; at any turn a `complaint` (more likely when
     frustrated), a `cancel_subscription` (more likely for high churn risk) or a `request_human`;
   - the observed sentiment is tanh(-0.6 * frustration + noise) with NLU noise on top; weak sentiment is
     reported as neutral, and 6% of messages read as neutral anyway (sentiment models miss sarcasm);
   - the conversation then ends: escalated (request_human is honoured 90% of the time; otherwise a hazard
     that rises with frustration, the run of negative messages, complaints, fallbacks, churn risk and
     value), resolved by the bot once it has had the turns the issue needs (the issue's chance, lowered by
     frustration), or it goes on; past those turns frustration rises by a noisy step each turn.
5. After 10 turns an unresolved conversation is escalated 60% of the time, else the customer gives up
   (recorded as not escalated). 3% of final labels are flipped (mislabelled outcomes in any CRM).
Every customer turn becomes one training row labelled with the conversation's final outcome, so early
turns of conversations that later escalate look calm: the model has to read trajectories, not just a
single angry message.

Churn story (one customer)
--------------------------
Plan, contract, tenure and charges are drawn like the seeded demo company (backend/seed.py). A hidden
dissatisfaction drives the observable support signals: contacts in the last 90 days, the sentiment of their
messages (with a drift between the earlier and the recent window), cases (unresolved ones, CSAT of the
resolved ones), inactivity and problem orders. The churn label is a logistic draw whose contract, tenure and
price effects come from a logistic fit on the public IBM Telco data when it is available (the only CRM
features Telco also has; price as a z-score within each company) and from `DEFAULT_PRIORS` otherwise, while
the support-signal effects are the assumptions in `SUPPORT_EFFECTS`. The hidden dissatisfaction also enters
the label directly, so no feature set can predict it perfectly. The intercept is set so about 20% churn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from backend.risk.features import (
    CustomerSnapshot,
    Turn,
    TurnContext,
    churn_features,
    escalation_features,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # the seeded demo company's "today"

# issue -> (share of conversations, customer turns the bot needs (question, details...), chance per turn
# after that that the bot resolves it, starting frustration)
ISSUES = {
    "order_status": (0.24, 2, 0.70, 0.0),
    "shipping_delay": (0.14, 2, 0.40, 0.6),
    "billing_question": (0.11, 2, 0.50, 0.1),
    "failed_payment": (0.08, 3, 0.40, 0.5),
    "return_refund": (0.10, 3, 0.45, 0.3),
    "technical_problem": (0.10, 3, 0.30, 0.3),
    "product_question": (0.09, 1, 0.65, -0.2),
    "change_plan": (0.06, 2, 0.55, 0.0),
    "cancel_subscription": (0.08, 2, 0.25, 0.4),
}
MAX_TURNS = 10
LABEL_NOISE = 0.03


def _sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


# ------------------------------------------------------------------------------------------ escalation


@dataclass
class Conversation:
    turns: list[Turn]
    context: TurnContext
    escalated: bool


@dataclass
class _Visitor:
    known: bool
    value: float | None
    churn: float | None
    repeats: int
    temperament: float


def _visitor(rng: np.random.Generator) -> _Visitor:
    if rng.random() >= 0.8:
        return _Visitor(False, None, None, 0, float(rng.normal()))
    unresolved_before = rng.random() < 0.25
    repeats = int(min(rng.poisson(1.2 if unresolved_before else 0.2), 3))
    return _Visitor(True, float(rng.lognormal(6.0, 0.8)), float(rng.beta(2, 5)), repeats, float(rng.normal()))


def _intent(rng: np.random.Generator, issue: str, frustration: float, churn: float, turn: int) -> str:
    if turn > 1 and rng.random() < _sigmoid(1.4 * frustration - 3.2):
        return "request_human"
    if rng.random() < _sigmoid(1.3 * frustration - 2.6):
        return "complaint"
    if issue != "cancel_subscription" and rng.random() < 0.06 * churn + 0.1 * _sigmoid(frustration - 2):
        return "cancel_subscription"
    if turn == 1:
        return issue
    # Later turns answer the bot's questions, or restate the issue when the answer did not help.
    return str(rng.choice(["inform", "affirm", "deny", issue], p=[0.4, 0.25, 0.1, 0.25]))


def _sentiment(rng: np.random.Generator, frustration: float) -> float | None:
    true = np.tanh(-0.6 * frustration + 0.3 + rng.normal(0, 0.25))
    observed = float(np.clip(true + rng.normal(0, 0.1), -1, 1))
    if rng.random() < 0.06:
        return 0.0  # the sentiment model missed it
    return observed if abs(observed) >= 0.25 else 0.0  # the NLU reports weak sentiment as neutral


def _hazard(
    frustration: float,
    upset_run: int,
    complaints: int,
    fallbacks: int,
    churn: float,
    value: float | None,
    intent: str,
) -> float:
    """Chance that this turn ends in a hand-off (the customer insists, or the bot gives up). One angry
    message rarely does it; anger that goes on, turn after turn, does."""
    value_term = 0.25 * np.log1p(value) / 6 if value else 0.0
    cancel = 0.8 * (intent == "cancel_subscription")
    return _sigmoid(
        -5.2
        + 1.5 * frustration
        + 0.6 * upset_run
        + 0.4 * complaints
        + 0.35 * fallbacks
        + 1.2 * churn
        + value_term
        + cancel
    )


def simulate_conversation(rng: np.random.Generator) -> Conversation:
    who = _visitor(rng)
    names = list(ISSUES)
    issue = str(rng.choice(names, p=[ISSUES[n][0] for n in names]))
    _, steps, solve, start = ISSUES[issue]
    churn = who.churn if who.churn is not None else 0.3
    frustration = start - 0.6 + 0.45 * who.repeats + 1.2 * (churn - 0.3) + 0.4 * who.temperament
    started = NOW - timedelta(minutes=float(rng.uniform(0, 60 * 24 * 30)))
    at, turns, fallbacks, complaints, upset_run = started, [], 0, 0, 0
    context = TurnContext(started, who.repeats, who.churn, who.value)
    for turn in range(1, MAX_TURNS + 1):
        at += timedelta(minutes=float(0.2 + rng.exponential(1.0 + 0.5 * fallbacks)))
        if rng.random() < 0.03 + 0.12 * (1 - solve):
            intent, fallbacks = "nlu_fallback", fallbacks + 1
            frustration += 0.35
        else:
            intent = _intent(rng, issue, frustration, churn, turn)
        complaints += intent == "complaint"
        turns.append(Turn(at, intent, _sentiment(rng, frustration)))
        upset_run = upset_run + 1 if (turns[-1].sentiment or 0.0) < -0.2 else 0
        if intent == "request_human":
            return Conversation(turns, context, rng.random() < 0.9)
        if rng.random() < _hazard(frustration, upset_run, complaints, fallbacks, churn, who.value, intent):
            return Conversation(turns, context, True)
        if turn >= steps and rng.random() < solve * 2 * _sigmoid(-1.5 * frustration):
            return Conversation(turns, context, False)
        # Answering the bot's questions is patient work; going round in circles after that is not.
        frustration += rng.normal(0, 0.1) if turn < steps else 0.25 + rng.normal(0, 0.25)
    return Conversation(turns, context, rng.random() < 0.6)


def conversations(n: int, seed: int) -> Iterator[Conversation]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        conversation = simulate_conversation(rng)
        if rng.random() < LABEL_NOISE:
            conversation.escalated = not conversation.escalated
        yield conversation


@dataclass
class History:
    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray  # conversation number of each row, so a split never cuts a conversation


def escalation_history(n_conversations: int = 1500, seed: int = 7) -> History:
    """Per-turn feature rows of `n_conversations` simulated conversations, labelled by outcome."""
    rows, labels, groups = [], [], []
    for number, conversation in enumerate(conversations(n_conversations, seed)):
        for end in range(1, len(conversation.turns) + 1):
            rows.append(escalation_features(conversation.turns[:end], conversation.context))
            labels.append(int(conversation.escalated))
            groups.append(number)
    return History(pd.DataFrame(rows), np.array(labels), np.array(groups))


# ------------------------------------------------------------------------------------------ churn

PLANS = {"basic": 4.99, "plus": 14.99, "pro": 29.99}
CONTRACTS = ("month-to-month", "one-year", "two-year")
# Log-odds effects of contract (vs month-to-month), log(1 + tenure in months) and price z-score. Used when the
# Telco CSV is absent; these are the rounded values `telco_priors` fits on it (seed-independent, 7,043 rows).
DEFAULT_PRIORS = {"one-year": -1.06, "two-year": -2.3, "log_tenure": -0.72, "charge_z": 0.93}
# Assumed log-odds effects of the support signals (per unit of each feature).
SUPPORT_EFFECTS = {
    "payment_failures_90d": 0.45,
    "contacts_30d": 0.25,
    "sentiment_30d": -0.9,
    "sentiment_trend": -0.6,
    "unresolved_cases": 0.5,
    "csat_gap": 0.35,  # per CSAT point below 3.5 (0 without ratings)
    "days_since_activity": 0.012,
    "problem_orders_90d": 0.3,
}
HIDDEN_EFFECT = 0.6  # of the unobserved dissatisfaction: why no model reaches a perfect score
TARGET_CHURN_RATE = 0.2


def telco_priors(csv: Path) -> dict[str, float]:
    """Contract, tenure and price effects on churn, fitted on the IBM Telco CSV."""
    from sklearn.linear_model import LogisticRegression

    telco = pd.read_csv(csv, usecols=["Contract", "tenure", "MonthlyCharges", "Churn"])
    contract = telco["Contract"].str.lower()
    charges = telco["MonthlyCharges"].astype(float)
    X = np.column_stack(
        [
            contract.eq("one year"),
            contract.eq("two year"),
            np.log1p(telco["tenure"].astype(float)),
            (charges - charges.mean()) / charges.std(),
        ]
    )
    fit = LogisticRegression(C=1.0, max_iter=1000).fit(X, telco["Churn"].eq("Yes"))
    return dict(
        zip(["one-year", "two-year", "log_tenure", "charge_z"], fit.coef_[0].round(3).tolist(), strict=True)
    )


def _customer_snapshot(rng: np.random.Generator) -> tuple[CustomerSnapshot, float]:
    """One customer's records and their hidden dissatisfaction."""
    plan = str(rng.choice(list(PLANS), p=[0.5, 0.3, 0.2]))
    contract = str(rng.choice(CONTRACTS, p=[0.55, 0.27, 0.18]))
    tenure_days = int(rng.integers(10, 1500))
    mood = float(rng.normal())
    recent_mood = mood + float(rng.normal(0, 0.5))  # some customers sour (or recover) recently
    failures = int(rng.choice([0, 1, 2, 3], p=[0.8, 0.12, 0.05, 0.03]))
    contacts = int(rng.poisson(0.6 * np.exp(0.5 * recent_mood) + 0.8 * (failures > 0)))
    starts = sorted(NOW - timedelta(days=float(rng.uniform(0, 90))) for _ in range(contacts))
    sentiments, unresolved, csat = [], 0, []
    for start in starts:
        recent = start >= NOW - timedelta(days=30)
        level = recent_mood if recent else mood
        for _ in range(1 + int(rng.poisson(2))):
            sentiments.append((start, float(np.tanh(-0.7 * level + rng.normal(0, 0.6)))))
        if rng.random() < _sigmoid(-1 + 0.8 * level):
            if rng.random() < (0.3 if recent else 0.05):
                unresolved += 1
            else:
                csat.append(int(np.clip(round(4 - 0.8 * level + rng.normal(0, 0.8)), 1, 5)))
    snapshot = CustomerSnapshot(
        plan=plan,
        contract=contract,
        monthly_charge=PLANS[plan],
        lifetime_value=PLANS[plan] * max(1, tenure_days // 30) + float(rng.integers(0, 900)),
        signup_date=(NOW - timedelta(days=tenure_days)).date(),
        payment_failures_90d=failures,
        last_activity_at=NOW - timedelta(days=float(min(rng.exponential(20 * np.exp(0.4 * mood)), 120))),
        conversation_starts=starts,
        sentiments=sentiments,
        unresolved_cases=unresolved,
        csat=csat,
        orders=_orders(rng, mood),
    )
    return snapshot, mood


def _orders(rng: np.random.Generator, mood: float) -> list[tuple[datetime, str]]:
    problem = 0.15 + 0.1 * (mood > 1)
    return [
        (
            NOW - timedelta(days=float(rng.uniform(0, 90))),
            "delayed" if rng.random() < problem else "delivered",
        )
        for _ in range(int(rng.poisson(1.2)))
    ]


def _churn_logit(row: pd.DataFrame, hidden: np.ndarray, priors: dict[str, float]) -> np.ndarray:
    charge = row["monthly_charge"]
    logit = (
        priors["one-year"] * (row["contract"] == "one-year")
        + priors["two-year"] * (row["contract"] == "two-year")
        + priors["log_tenure"] * np.log1p(row["tenure_months"])
        + priors["charge_z"] * (charge - charge.mean()) / charge.std()
        + HIDDEN_EFFECT * hidden
    )
    csat_gap = (3.5 - row["csat_avg"]).clip(lower=0).fillna(0)
    for name, effect in SUPPORT_EFFECTS.items():
        logit = logit + effect * (csat_gap if name == "csat_gap" else row[name])
    return logit.to_numpy(dtype=float)


def _intercept(logit: np.ndarray, rate: float) -> float:
    """The intercept that makes the mean churn probability `rate` (bisection; the mean is monotone)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if np.mean(1 / (1 + np.exp(-(logit + middle)))) < rate else (low, middle)
    return (low + high) / 2


def churn_history(n_customers: int = 3000, seed: int = 7, priors: dict[str, float] | None = None) -> History:
    """Simulated CRM customers with CRM features and a churn label drawn from the story above."""
    rng = np.random.default_rng(seed)
    pairs = [_customer_snapshot(rng) for _ in range(n_customers)]
    X = pd.DataFrame([churn_features(snapshot, NOW) for snapshot, _ in pairs])
    logit = _churn_logit(X, np.array([mood for _, mood in pairs]), priors or DEFAULT_PRIORS)
    probability = 1 / (1 + np.exp(-(logit + _intercept(logit, TARGET_CHURN_RATE))))
    y = (rng.random(n_customers) < probability).astype(int)
    return History(X, y, np.arange(n_customers))
