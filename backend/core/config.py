"""Runtime configuration, read from the environment (and an optional `.env` file) by pydantic-settings."""

import logging
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.connection import parse_url as parse_redis_url

from backend.core.rates import parse_rate

REPO_ROOT = Path(__file__).resolve().parents[2]
# Published here, so anyone can sign widget and staff tokens or call the service API with them: fine on a
# developer's machine, refused in production (Settings.check_secrets).
DEVELOPMENT_SECRETS = {
    "service_token": "dev-service-token",
    "secret_key": "dev-only-secret-key-change-me-in-production",
    "identity_secret": "dev-only-identity-secret-change-me-in-production",
}
# HS256 wants a key at least as long as its hash output (RFC 7518, section 3.2).
MIN_SECRET_KEY_BYTES = 32


def shared_data_dir() -> Path:
    """The public data sets' folder, as the Rasa side finds it (nlu/settings.py): SUPPORTDESK_SHARED_DATA,
    else ../shared/data beside the checkout. Read from the environment only, so one variable moves both."""
    configured = os.environ.get("SUPPORTDESK_SHARED_DATA", "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared" / "data"


class InsecureSettings(RuntimeError):
    """The backend must not start with these settings."""


class SettingsGroup(BaseSettings):
    """Every group reads the same sources: the environment, then an optional `.env` file."""

    # hide_input_in_errors: a validation error would otherwise quote the value it rejects, and with it a
    # secret or a URL's password (REDIS_URL, DATABASE_URL) into the start-up log. The messages name the
    # variable and what is wrong with it.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    def missing_secrets(self) -> list[str]:
        """The secrets this group needs in production that are empty, by environment variable. Each group
        that has one adds it and calls super(), so the combined Settings lists all (AuthSettings.check_secrets
        refuses them in production)."""
        return []


class DatabaseSettings(SettingsGroup):
    """Where the CRM lives."""

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'supportdesk.db'}",
        description="sqlite:///path or postgresql://user@host/db; the driver is picked for you.",
    )

    @property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)

    @property
    def sync_database_url(self) -> str:
        return to_sync_url(self.database_url)


class AuthSettings(SettingsGroup):
    """Secrets and token lifetimes; `check_secrets` refuses development secrets in production."""

    # Production unless told otherwise: a deployment that forgets to say is refused with the development
    # secrets below (published in this file) rather than run with them. make run, the tests and the local
    # scaled stack say development (scripts/stack.py); docker-compose.yml passes real secrets.
    environment: Literal["development", "production"] = Field(
        default="production",
        description="development lets the backend start with the built-in development secrets (with a "
        "warning); production refuses to (check_secrets).",
    )
    service_token: str = Field(
        default=DEVELOPMENT_SECRETS["service_token"],
        description="Shared secret the action server sends as X-Service-Token.",
    )
    secret_key: str = Field(
        default=DEVELOPMENT_SECRETS["secret_key"],
        description="Signs widget session tokens; set a long random value in production.",
    )
    identity_secret: str = Field(
        default=DEVELOPMENT_SECRETS["identity_secret"],
        description="The host site signs a logged-in shopper's email with it (HMAC-SHA256) to link them.",
    )
    widget_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    staff_token_ttl_s: int = Field(default=12 * 3600, gt=0, description="How long a staff sign-in lasts.")
    # Not a rate: RATE_LIMITS_ENABLED=false (the test stacks, the fuzzer) must not open orders to guessing.
    guest_order_wrong_emails: int = Field(
        default=3,
        ge=1,
        description="Wrong e-mail addresses an anonymous visitor's conversation may give on the order "
        "look-up; after that the conversation looks up no order at all (backend/customers/guest.py).",
    )

    def development_secrets_in_use(self) -> list[str]:
        """The secret settings still at their published development values, by environment variable."""
        return [name.upper() for name, value in DEVELOPMENT_SECRETS.items() if getattr(self, name) == value]

    def check_secrets(self) -> None:
        """Raise InsecureSettings, naming each variable, if production would run on development secrets, a
        short SECRET_KEY or an empty secret another group needs (RASA_TOKEN); development only warns. The
        backend calls it when it starts; scripts that sign nothing do not, so `make eval-*` and the like need
        no secrets."""
        published, missing = self.development_secrets_in_use(), self.missing_secrets()
        if self.environment != "production":
            self._warn_development(published, missing)
            return
        problems = [f"{name} is the published development value" for name in published]
        if len(self.secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes")
        problems += [f"{name} is empty" for name in missing]
        if problems:
            raise InsecureSettings(
                "refusing to start in production: "
                + "; ".join(problems)
                + ". Set each to a long random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), or ENVIRONMENT=development on a developer's machine."
            )

    @staticmethod
    def _warn_development(published: list[str], missing: list[str]) -> None:
        log = logging.getLogger(__name__)
        if published:
            log.warning(
                "ENVIRONMENT=development: %s at the published development values; fine on this machine, "
                "never for a backend others can reach",
                ", ".join(published),
            )
        if missing:
            log.warning(
                "ENVIRONMENT=development: %s empty; fine on this machine (a Rasa started by hand without a "
                "token), never for a backend others can reach",
                ", ".join(missing),
            )


class RateLimitSettings(SettingsGroup):
    """What one client may send: sizes and rates (backend/core/ratelimit.py).

    Rates are "N/second|minute|hour|day" or "N per K minutes"; GCRA buckets that allow a burst of N and refill
    evenly. The load generator and test stacks raise the per-IP ones. With REDIS_URL set the counters live in
    Redis, shared by every backend worker; else in memory."""

    max_message_chars: int = Field(default=2000, gt=0, description="Longest customer message accepted.")
    max_request_bytes: int = Field(default=64 * 1024, gt=0, description="Largest HTTP body or WS frame.")
    rate_limits_enabled: bool = Field(default=True, description="Turn every rate limit off with false.")
    rate_limit_sessions_per_ip: str = Field(
        default="30/minute", description="New widget sessions one client address may open."
    )
    rate_limit_messages_per_conversation: str = Field(
        default="20/minute", description="Customer messages per conversation (REST and WebSocket)."
    )
    rate_limit_messages_per_ip: str = Field(
        default="300/minute", description="Customer messages from one client address, all conversations."
    )
    rate_limit_logins_per_ip: str = Field(
        default="20/minute", description="Staff sign-in attempts from one client address."
    )
    rate_limit_failed_logins_per_account: str = Field(
        default="10 per 15 minutes", description="Failed sign-ins per staff email before it is locked out."
    )

    @field_validator(
        "rate_limit_sessions_per_ip",
        "rate_limit_messages_per_conversation",
        "rate_limit_messages_per_ip",
        "rate_limit_logins_per_ip",
        "rate_limit_failed_logins_per_account",
    )
    @classmethod
    def _is_rate(cls, value: str) -> str:
        parse_rate(value)  # fails at start-up with the setting's name rather than on the first request
        return value


class ConversationSettings(SettingsGroup):
    """The bot a conversation talks to, and the widget it is served in."""

    rasa_url: str = Field(default="http://127.0.0.1:5005", description="Base URL of the Rasa server.")
    rasa_timeout_s: float = Field(default=10.0, gt=0, description="How long one bot turn may take.")
    rasa_token: str = Field(
        default="",
        description="The Rasa server's HTTP API token (`rasa run --auth-token`, from the same RASA_TOKEN), "
        "sent as `?token=` on the API calls (tracker reads during failover); `make run` generates one per "
        "install (var/rasa_token), and as `Authorization: Bearer` on the hub webhook's turns, which the hub "
        "channel refuses without it. Empty: none sent (refused in production).",
    )
    rasa_urls: str = Field(
        default="",
        description="Comma-separated Rasa replicas (scaled setup), tried in turn with failover; "
        "empty means RASA_URL alone.",
    )
    # Rasa works a turn on one event loop, CPU-bound: more turns in flight only queue inside Rasa, where a
    # turn whose customer already got the holding reply is still worked on. 4 keeps Rasa busy (actions
    # overlap with NLU).
    rasa_max_in_flight: int = Field(
        default=4,
        gt=0,
        description="Turns one backend worker sends to one Rasa replica at a time; more wait in the backend "
        "(bounded by RASA_TIMEOUT_S), so an overloaded Rasa does not work on turns already given up.",
    )
    holding_reply: str = Field(
        default=(
            "Sorry, our assistant is having a problem right now. Your message is saved and "
            "we'll get back to you here shortly."
        ),
        description="Sent to the customer when the bot cannot answer.",
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Where the widget script is served.")

    @field_validator("rasa_url", "public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def missing_secrets(self) -> list[str]:
        # Without it the hub channel, which runs with the same RASA_TOKEN, would refuse every turn, or, run
        # without one, take turns from anyone who can reach Rasa.
        return super().missing_secrets() + ([] if self.rasa_token else ["RASA_TOKEN"])

    @property
    def rasa_replicas(self) -> list[str]:
        urls = [url.strip().rstrip("/") for url in self.rasa_urls.split(",") if url.strip()]
        return urls or [self.rasa_url]


class CsatQuestion(BaseModel):
    """A question the customer is asked after the satisfaction score (CSAT_EXTRA_QUESTIONS)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="The answer's key; never `satisfaction`.")
    kind: Literal["rating", "text"] = Field(description="rating: 1-5; text: a short free-text answer.")
    text: str = Field(min_length=1, max_length=200)


class RoutingSettings(SettingsGroup):
    """Case routing (backend/cases/routing.py documents the formula)."""

    routing_interval_s: float = Field(
        default=2.0, gt=0, description="How often queues and SLA timers are checked."
    )
    accept_timeout_s: int = Field(
        default=120, gt=0, description="An offered case not accepted by then is re-queued."
    )
    first_response_sla_s: int = Field(
        default=300, gt=0, description="First-response deadline after hand-off."
    )
    priority_weight_escalation: float = Field(default=50.0, ge=0)
    priority_weight_churn: float = Field(default=30.0, ge=0)
    priority_weight_value: float = Field(default=20.0, ge=0)
    priority_value_cap: float = Field(default=2000.0, gt=0)
    priority_wait_per_minute: float = Field(default=1.0, ge=0)
    reply_timeout_s: int = Field(
        default=0,
        ge=0,
        description="An accepted case whose agent has not replied this long after it was offered goes to the "
        "next eligible agent (0: never).",
    )
    queue_max_length: int = Field(
        default=0, ge=0, description="Longest waiting queue per team (skill); 0: no limit."
    )
    queue_max_length_by_team: dict[str, int] = Field(
        default_factory=dict,
        description='Per-team limits over QUEUE_MAX_LENGTH, as JSON: {"billing": 10}; 0 means no limit.',
    )
    queue_overflow_action: Literal["leave_message", "overflow_team"] = Field(
        default="leave_message",
        description="A hand-off into a full queue: `leave_message` (a follow-up case; the customer is told "
        "to leave their message and gets a reply here or by email) or `overflow_team` (QUEUE_OVERFLOW_TEAM's "
        "queue, and leave_message when that is full too).",
    )
    queue_overflow_team: Literal["general", "billing", "technical", "retention", "sales"] = Field(
        default="general", description="The team that takes a full queue's overflow."
    )
    queue_default_handle_s: int = Field(
        default=300,
        gt=0,
        description="Handle time assumed for the wait estimate while a team has no resolved case yet.",
    )
    # The survey's first question is always the satisfaction score (analytics, automation and the decision
    # outcomes read it), so only the questions after it are configurable: up to two, three in all.
    csat_extra_questions: list[CsatQuestion] = Field(
        default_factory=list,
        max_length=2,
        description='Questions after the 1-5 satisfaction score, as JSON: [{"id": "resolved", "kind": '
        '"rating", "text": "Did we solve your problem?"}, {"id": "comment", "kind": "text", "text": '
        '"Anything we could do better?"}].',
    )

    @field_validator("csat_extra_questions")
    @classmethod
    def _distinct_questions(cls, questions: list[CsatQuestion]) -> list[CsatQuestion]:
        ids = [question.id for question in questions]
        if "satisfaction" in ids or len(set(ids)) != len(ids):
            raise ValueError("CSAT question ids must be distinct, and none `satisfaction` (the score's)")
        return questions


class KnowledgeSettings(SettingsGroup):
    """Knowledge base (knowledge/README.md explains the index, the fusion and the confidence)."""

    kb_index_dir: Path = Field(
        default=REPO_ROOT / "var" / "kb_index", description="Where the knowledge index files are kept."
    )
    kb_sync_interval_s: float = Field(
        default=1.0, gt=0, description="How often a worker picks up articles saved by other workers."
    )
    kb_calibration_path: Path | None = Field(
        default=None,
        description="Confidence calibration JSON; empty means knowledge/calibration.json, fitted on the demo "
        "shop's dev questions (knowledge/calibration_bank_faq.json is the bank-FAQ benchmark's).",
    )
    kb_answer_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Overrides the calibrated confidence the bot needs to answer."
    )
    kb_encoder_dir: Path | None = Field(
        default=None,
        description="An adapted encoder (python -m knowledge.adapt); empty means base all-MiniLM-L6-v2.",
    )
    kb_encoder_onnx_dir: Path | None = Field(
        default=None,
        description="The ONNX export of base all-MiniLM-L6-v2 the bot's NLU uses (nlu/encoder_export.py; "
        "the stacks of make run, make test and the benchmarks point here): the base model then runs on "
        "onnxruntime, the same vectors as torch's for less CPU. Empty means torch. An adapted "
        "encoder (KB_ENCODER_DIR) always runs on torch.",
    )
    kb_reranker_dir: Path | None = Field(
        default=None,
        description="A cross-encoder re-ranker (knowledge/rerank.py, built by make eval-kb) that re-orders "
        "the top fused articles; empty means off (knowledge/README.md says why it is off by default).",
    )
    # One thread by default: requests are the unit of parallelism in the backend, and on a busy machine two
    # torch threads spin-wait on each other.
    kb_embed_threads: int = Field(
        default=1,
        ge=0,
        description="Torch threads of the knowledge encoder (encoding, knowledge.adapt); 0: torch decides.",
    )


class RiskSettings(SettingsGroup):
    """Risk models (backend/risk/README.md explains each choice)."""

    risk_model_dir: Path = Field(
        default=REPO_ROOT / "var" / "models" / "risk", description="Where model artifacts (joblib) are kept."
    )
    escalation_threshold: float = Field(
        default=0.6, gt=0, lt=1, description="Escalation probability at which a conversation goes to a human."
    )
    churn_high_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Churn probability from which a customer counts as high risk."
    )
    promotion_min_auc_gain: float = Field(
        default=0.0, ge=0, description="Hold-out ROC-AUC a candidate must add over production to be promoted."
    )
    risk_min_training_rows: int = Field(
        default=500, gt=0, description="Labelled CRM rows needed before bootstrap trains from the database."
    )
    risk_telco_csv: Path = Field(
        default_factory=lambda: shared_data_dir() / "telco_churn" / "telco_customer_churn.csv",
        description="IBM Telco churn CSV; its contract/tenure/price effects inform the first churn model.",
    )
    fairness_max_gap: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Largest gap in selection rate, precision or recall between supported groups (plan, "
        "tenure band, language, value band) before a model version is flagged and its promotion blocked.",
    )
    fairness_min_group: int = Field(
        default=30,
        gt=0,
        description="Rows (selection rate), predicted positives (precision) or actual positives (recall) a "
        "group needs before its figure counts towards the fairness flag; smaller groups are only reported.",
    )
    fairness_gated_metrics: str = Field(
        default="calibration_error",
        pattern=r"^(selection_rate|precision|recall|calibration_error)(,(selection_rate|precision|recall|"
        r"calibration_error))*$",
        description="Comma-separated metrics whose gap flags a version: calibration_error (a group's "
        "mean score minus its observed rate), selection_rate, precision, recall (backend/risk/fairness.py "
        "says why only the first by default).",
    )
    challenger_slice: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of conversations (by a hash of the id) on which the escalation challenger acts "
        "instead of the champion; 0: the challenger only scores in shadow.",
    )
    challenger_min_outcomes: int = Field(
        default=200,
        gt=0,
        description="Turns with a final outcome, scored by both champion and challenger, before a lift is "
        "measured and the challenger may be promoted.",
    )
    challenger_bootstrap: int = Field(
        default=1000, ge=100, description="Bootstrap resamples for the challenger's lift interval."
    )

    @property
    def gated_fairness_metrics(self) -> tuple[str, ...]:
        return tuple(self.fairness_gated_metrics.split(","))


class DecisionSettings(SettingsGroup):
    """Who decides a hand-off, and the decision log (backend/handoff/, backend/decisions/)."""

    handoff_policy: Literal["rules", "learnt", "off"] = Field(
        default="learnt",
        description="Who decides a hand-off after a customer turn besides the bot's own hand-offs: the "
        "rules, the policy learnt on the labelled dev conversations, or nobody (evaluation replays). See "
        "backend/handoff/policy.py and docs/benchmarks.md for which ships and why.",
    )
    handoff_model_path: Path = Field(
        default=REPO_ROOT / "var" / "models" / "handoff-policy.json",
        description="The learnt hand-off policy (`make model` builds it); missing, the rules decide.",
    )
    handoff_reload_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often a worker checks whether the file at HANDOFF_MODEL_PATH changed (a promotion "
        "relinks it) and, if so, loads it beside the turns and swaps it in; a file that does not load "
        "leaves the policy serving as it is. 0: loaded once at start.",
    )
    decision_deadline_ms: float = Field(
        default=50.0,
        gt=0,
        description="Budget of the learnt hand-off policy's call; missed (or failed), the rules decide and "
        "the decision log says why.",
    )
    review_sample_size: int = Field(
        default=20, gt=0, le=500, description="Decisions in a day's review sample for supervisors."
    )
    decision_outcome_interval_s: float = Field(
        default=300.0, gt=0, description="How often decisions get their outcomes joined from what happened."
    )
    decision_min_labels: int = Field(
        default=200, gt=0, description="Labelled hand-off decisions needed before training from the log."
    )


class PrivacySettings(SettingsGroup):
    """Privacy (backend/privacy/__init__.py explains redaction, erasure and retention)."""

    transcript_retention_days: int = Field(
        default=365, ge=0, description="Transcripts of conversations idle this long are purged; 0 keeps them."
    )
    retention_purge_interval_s: float = Field(
        default=3600.0, gt=0, description="How often each backend worker runs the retention purge."
    )
    redaction_interval_s: float = Field(
        default=10.0, gt=0, description="How often new messages get their PII-redacted copy."
    )
    pii_person_names: bool = Field(
        default=True, description="Redact person names with spaCy NER (the regex types are always on)."
    )
    pii_child_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="The niceness of the PII redaction child process: above 0, the backend, Rasa and the "
        "action server get the CPU first on a busy server; 0 for a machine where that would starve it.",
    )
    pii_presidio: bool = Field(
        default=True,
        description="Find the PII types where Microsoft Presidio beat the redactor on dev with Presidio "
        "(backend/privacy/pii_detectors.json); false uses the redactor's patterns and NER for every type.",
    )
    rasa_tracker_store_url: str | None = Field(
        default=None,
        description="Rasa's SQL tracker store (sqlite:///path or postgresql://...), where erasure and "
        "retention delete a conversation's tracker; empty means RASA_TRACKER_DB (a SQLite path) if set.",
    )
    rasa_tracker_db: Path | None = Field(
        default=None, description="The SQLite tracker file scripts/stack.py gives Rasa (make run sets it)."
    )


class AnalyticsSettings(SettingsGroup):
    """Analytics (backend/analytics/service.py explains the windows, the buckets and when a conversation
    ends)."""

    analytics_idle_end_s: int = Field(
        default=1800, gt=0, description="A conversation without an open case ends after this long idle."
    )
    analytics_flush_interval_s: float = Field(
        default=1.0, gt=0, description="How often a worker writes its analytics buckets, reads the others'."
    )


class AutomationSettings(SettingsGroup):
    """Automation rules and their guardrails (backend/automation/__init__.py explains them)."""

    automation_enabled: bool = Field(
        default=True, description="Run enabled automation rules on live events; false stops every rule."
    )
    automation_max_actions_per_hour: int = Field(
        default=10, gt=0, le=1000, description="Automated actions one conversation may get per hour."
    )
    automation_max_contacts_per_day: int = Field(
        default=2, gt=0, le=100, description="Automated messages one customer may get in 24 hours."
    )
    automation_sweep_interval_s: float = Field(
        default=30.0, gt=0, description="How often time-based triggers (waiting, idle, scores) are checked."
    )
    automation_webhook_attempts: int = Field(
        default=4, gt=0, le=10, description="Tries of a rule's webhook call before it goes to the exceptions."
    )
    automation_webhook_backoff_s: float = Field(
        default=0.5, ge=0, le=60, description="First pause between webhook tries; it doubles each time."
    )
    automation_webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of one webhook try."
    )


class AssistSettings(SettingsGroup):
    """Agent assist (backend/assist/): the past-replies index, macros' links and the knowledge-gap job."""

    assist_reply_sync_interval_s: float = Field(
        default=30.0, gt=0, description="How often agent replies of newly resolved cases join the index."
    )
    assist_gap_interval_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How often unanswered questions are clustered (weekly)."
    )
    assist_gap_window_days: int = Field(
        default=28, gt=0, le=365, description="How far back the knowledge-gap job looks for questions."
    )
    # Average-linkage cosine distance of MiniLM vectors; backend/assist/gaps.py says how it was chosen.
    assist_gap_distance_threshold: float = Field(
        default=0.62, gt=0, lt=2, description="Agglomerative clustering's merge distance (cosine)."
    )
    assist_gap_min_size: int = Field(
        default=2, ge=1, le=100, description="A cluster with fewer questions is not shown as a gap."
    )
    assist_tracking_url: str = Field(
        default="https://track.northwind.example/{carrier}/{tracking_number}",
        description="The {tracking_link} of macros, filled from the order's carrier and tracking number.",
    )


class ExperimentSettings(SettingsGroup):
    """Experiments and retention offers (backend/experiments/): offer experiment, contact cap, outcomes."""

    retention_experiment_key: str = Field(
        default="retention-offers",
        min_length=1,
        max_length=64,
        description="While an experiment of this key runs, eligible customers who ask to cancel are "
        "randomised between its variants (offers and a no-offer control).",
    )
    retention_contact_cap: int = Field(
        default=1, ge=0, le=100, description="Retention offers one customer may get in RETENTION_CAP_DAYS."
    )
    retention_cap_days: int = Field(default=30, gt=0, le=365, description="The contact cap's window.")
    experiment_outcome_interval_s: float = Field(
        default=600.0, gt=0, description="How often experiment assignments get their outcomes joined."
    )
    uplift_policy_path: Path = Field(
        default=REPO_ROOT / "var" / "models" / "uplift-policy.joblib",
        description="The uplift policy make train-uplift ARGS='--from-decisions --save' writes; when "
        "present, it chooses retention offers outside the experiment (missing: the offer rules).",
    )


class ScaleOutSettings(SettingsGroup):
    """The services several workers share (docs/scaling.md); each unset, one process does the job in
    memory."""

    redis_url: str | None = Field(
        default=None,
        description="redis://[:password@]host:port/db (rediss:// for TLS; a password with reserved "
        "characters percent-encoded); when set, live events reach sockets on every backend worker (Redis "
        "pub/sub) and the rate-limit counters are shared. Unset: in-process, right for one worker.",
    )
    rabbitmq_url: str | None = Field(
        default=None,
        description="amqp://user:pass@host/ ; when set, Rasa's tracker events are consumed from RabbitMQ "
        "(Rasa's pika event broker). Unset: the hub feeds the same analytics in process.",
    )
    rabbitmq_queue: str = Field(default="rasa_events", description="The queue Rasa's event broker fills.")

    @field_validator("redis_url")
    @classmethod
    def _is_redis_url(cls, value: str | None) -> str | None:
        """Fails at start-up, naming the setting, rather than on the first live event; the message leaves the
        URL out, as it may carry the password."""
        if not value:
            return None
        try:
            check_redis_url(value)
        except ValueError as exc:
            raise ValueError(
                f"REDIS_URL is not a Redis URL ({exc}); expected redis://[:password@]host:port/db, with "
                "reserved characters in the password percent-encoded"
            ) from None
        return value


class ObservabilitySettings(SettingsGroup):
    """Observability (README "Observability"): Prometheus metrics, correlation ids and the log format."""

    metrics_enabled: bool = Field(
        default=True,
        description="Serve GET /metrics (Prometheus, no sign-in: block it at the proxy of a public port) and "
        "record request timings; false removes both. Several workers: set PROMETHEUS_MULTIPROC_DIR.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log lines as text (a person at a terminal) or one JSON object per line (a log shipper); "
        "each carries the request_id of its request or customer message. The Rasa side reads it too.",
    )


class LeadSettings(SettingsGroup):
    """Sales leads (backend/leads/): the served conversion model and the score that goes to the sales team."""

    lead_model_path: Path = Field(
        default=REPO_ROOT / "var" / "models" / "lead-model.joblib",
        description="The lead conversion model `python -m ml.leads --save` writes (trained on the simulated "
        "lead history); missing or unreadable: the rules score every lead, and the decision log says so.",
    )
    lead_route_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A lead scored at or above this hands its conversation to the sales team; below it, the "
        "lead waits in the list for a person to follow up.",
    )


class Settings(
    DatabaseSettings,
    AuthSettings,
    RateLimitSettings,
    ConversationSettings,
    RoutingSettings,
    KnowledgeSettings,
    RiskSettings,
    DecisionSettings,
    PrivacySettings,
    AnalyticsSettings,
    AutomationSettings,
    AssistSettings,
    ExperimentSettings,
    ScaleOutSettings,
    ObservabilitySettings,
    LeadSettings,
):
    """Every setting of the backend: the groups above combined, each field still read from its own flat
    environment variable (DATABASE_URL, not DATABASE__URL). A part that needs one domain's settings can
    take that group as its type."""


def check_redis_url(url: str) -> None:
    """Raise ValueError unless redis-py reads `url` as written; the reason never quotes the URL."""
    try:
        parse_redis_url(url)  # the scheme and the port
    except ValueError as exc:
        raise ValueError(str(exc).replace(url, "the URL")) from None
    parsed = urlsplit(url)
    if parsed.scheme == "unix":
        return
    if not parsed.hostname:
        raise ValueError("no host")
    # redis-py ignores a database it cannot read as a number and uses 0: someone else's data, perhaps.
    if not re.fullmatch(r"/?\d*", parsed.path):
        raise ValueError("the database after the host is not a number")


def to_async_url(url: str) -> str:
    """The app runs on asyncio: aiosqlite for SQLite, psycopg 3 (async mode) for PostgreSQL."""
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0]
    driver = {
        "sqlite": "sqlite+aiosqlite",
        "postgresql": "postgresql+psycopg",
        "postgres": "postgresql+psycopg",
    }
    return f"{driver.get(base, scheme)}://{rest}"


def to_sync_url(url: str) -> str:
    """Alembic and scripts use the blocking drivers: sqlite3 and psycopg 3."""
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0]
    driver = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
    return f"{driver.get(base, scheme)}://{rest}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
