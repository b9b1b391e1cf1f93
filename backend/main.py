"""The FastAPI application factory: wires settings, database, services, routes and web pages."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from backend.agents import views as agents
from backend.agents import websocket as agent_socket
from backend.analytics import views as analytics
from backend.analytics.consumer import RasaEventConsumer
from backend.analytics.service import AnalyticsService
from backend.assist import views as assist
from backend.assist.runtime import AssistRuntime
from backend.audit import views as audit
from backend.auth import views as auth
from backend.auth.policy import install_route_policy
from backend.auth.sockets import redact_tokens_in_server_logs
from backend.automation import views as automation
from backend.automation.engine import Engine as AutomationEngine
from backend.cases import views as cases
from backend.cases.dispatcher import Dispatcher
from backend.conversations import views as conversations
from backend.conversations import websocket
from backend.conversations.hub import ConversationHub
from backend.conversations.notifier import make_notifier
from backend.conversations.rasa_client import RasaClient
from backend.core.background import Background, Step, shutdown
from backend.core.config import Settings, get_settings
from backend.core.correlation import CorrelationId
from backend.core.database import make_engine, make_sessionmaker
from backend.core.errors import validation_error
from backend.core.limits import BodySizeLimit
from backend.core.logging import RequestLog, configure_logging
from backend.core.metrics import HttpMetrics, forget_dead_workers
from backend.core.ratelimit import rate_limiter_for
from backend.customers import views as customers
from backend.decisions import views as decisions
from backend.decisions.outcomes import OutcomeJob
from backend.experiments import views as experiments
from backend.experiments.outcomes import ExperimentOutcomeJob
from backend.handoff.served import ServedPolicy
from backend.health import metrics as health_metrics
from backend.health import views as health
from backend.kb import views as kb
from backend.kb.indexing import close_index, open_index
from backend.leads import views as leads
from backend.privacy import views as privacy
from backend.privacy.worker import PrivacyWorker
from backend.risk import views as risk
from backend.service_api import views as service_api
from backend.web import views as web

# The whole lifespan shutdown, every step included. Each loop gets at most STOP_DEADLINE_S of it
# (core/background.py); this bounds the rest (closing sockets and the database), and stays under the
# grace a process supervisor gives before SIGKILL (scripts/stack.py).
SHUTDOWN_DEADLINE_S = 10.0


def create_app(
    settings: Settings | None = None, rasa_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app. `rasa_transport` lets integration tests answer for Rasa; production leaves it None."""
    settings = settings or get_settings()
    settings.check_secrets()  # production on published development secrets stops here, before anything runs
    redact_tokens_in_server_logs()  # a stale widget script may still put its token in the URL
    configure_logging(settings.log_format)  # every log record carries its request's X-Request-ID

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        forget_dead_workers()  # a worker replacing a killed one: the dead one's gauges go
        engine = make_engine(settings.async_database_url)
        app.state.sessions = make_sessionmaker(engine)
        app.state.rasa = RasaClient(
            settings.rasa_replicas,
            settings.rasa_timeout_s,
            rasa_transport,
            settings.rasa_max_in_flight,
            token=settings.rasa_token,
        )
        app.state.notifier = make_notifier(settings)
        await app.state.notifier.start()
        app.state.dispatcher = Dispatcher(app.state.sessions, app.state.notifier, settings)
        app.state.handoff_policy = ServedPolicy(
            settings.handoff_policy, settings.handoff_model_path, settings.handoff_reload_interval_s
        )
        app.state.handoff_policy.start()
        app.state.hub = ConversationHub(
            app.state.sessions,
            app.state.rasa,
            app.state.notifier,
            settings,
            app.state.dispatcher.poke,
            app.state.handoff_policy,
        )
        app.state.rate_limiter = rate_limiter_for(settings)
        app.state.analytics = AnalyticsService(app.state.sessions, settings)
        await app.state.analytics.start()
        consumer = None
        if settings.rabbitmq_url:  # scaled-out: Rasa's tracker events come through RabbitMQ
            consumer = RasaEventConsumer(settings.rabbitmq_url, settings.rabbitmq_queue, app.state.analytics)
            consumer.start()
        app.state.dispatcher.start()
        app.state.privacy = PrivacyWorker(app.state.sessions, settings)
        app.state.privacy.start()
        app.state.outcomes = OutcomeJob(app.state.sessions, settings)
        app.state.outcomes.start()
        app.state.experiment_outcomes = ExperimentOutcomeJob(app.state.sessions, settings)
        app.state.experiment_outcomes.start()
        app.state.automation = AutomationEngine(app.state.sessions, app.state.notifier, settings)
        app.state.automation.start()
        await open_index(app)
        app.state.assist = AssistRuntime(app)
        app.state.assist.start()
        app.state.background = background_loops(app, consumer)
        yield
        steps: list[Step] = [
            ("knowledge index", lambda: close_index(app)),
            ("case dispatcher", app.state.dispatcher.stop),
            ("hand-off policy reload", app.state.handoff_policy.stop),
            ("privacy worker", app.state.privacy.stop),
            ("decision outcomes", app.state.outcomes.stop),
            ("experiment outcomes", app.state.experiment_outcomes.stop),
            ("automation", app.state.automation.stop),
            ("agent assist", app.state.assist.stop),
            *([("RabbitMQ consumer", consumer.stop)] if consumer is not None else []),
            ("analytics", app.state.analytics.stop),
            ("notifier", app.state.notifier.close),
            ("Rasa client", app.state.rasa.close),
            ("rate limiter", app.state.rate_limiter.close),
            ("database", engine.dispose),
        ]
        await shutdown(steps, SHUTDOWN_DEADLINE_S)

    app = FastAPI(
        title="Supportdesk",
        version="0.1.0",
        summary="AI customer support: Rasa assistant, CRM, risk scoring and case routing.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    if settings.metrics_enabled:  # outside the size limit, so its 413s are timed too
        app.add_middleware(HttpMetrics)
        app.router.routes.extend(health_metrics.router.routes)
        health_metrics.count_lifecycle_events()
    app.add_middleware(RequestLog)  # one line per request, under its id
    app.add_middleware(CorrelationId)  # outermost: everything below logs under the request's id
    app.add_exception_handler(RequestValidationError, validation_error)  # quotes lone surrogates safely
    for router in (
        health.router,
        auth.router,
        conversations.widget_router,
        conversations.staff_router,
        websocket.router,
        customers.staff_router,
        service_api.router,
        cases.staff_router,
        cases.widget_router,
        cases.conversation_router,
        agent_socket.router,
        agents.router,
        kb.router,
        risk.router,
        analytics.router,
        audit.router,
        privacy.router,
        decisions.router,
        automation.router,
        assist.router,
        experiments.router,
        experiments.preferences_router,
        leads.router,
        web.router,
    ):
        # The router's routes themselves rather than an inclusion of it: FastAPI (0.137 on) builds the routes
        # of an included router again for each app, on the first request through it, while these were built
        # once at import, with their router's prefix and dependencies. Every worker and test app shares them.
        # So `app.dependency_overrides` does not reach them (routes not built by the app carry no override
        # provider): tests configure an app through its Settings instead (backend/core/dependencies.py).
        app.router.routes.extend(router.routes)
    web.mount_static(app)
    # Who may call each route, from the dependency that enforces it, in the docs (tests/security checks it).
    install_route_policy(app)
    return app


def background_loops(app: FastAPI, consumer: RasaEventConsumer | None) -> list[Background]:
    """Every background loop of this worker, for health reports and for tests that check they stopped."""
    kb = getattr(app.state, "kb", None)
    return [
        app.state.dispatcher.loop,
        app.state.privacy.loop,
        app.state.outcomes.loop,
        app.state.experiment_outcomes.loop,
        *app.state.automation.loops,
        *app.state.assist.loops,
        app.state.analytics.loop,
        *([app.state.handoff_policy.loop] if app.state.handoff_policy.loop is not None else []),
        *(kb.loops if kb is not None else ()),
        *app.state.notifier.loops,
        *([consumer.loop] if consumer is not None else []),
    ]
