"""Every action call the action server runs: under its customer message's correlation id, logged, counted
by action and outcome, and timed.

`install()`, run when rasa_sdk imports this package (it imports every module of it), wraps rasa_sdk's
`ActionExecutor.run`, the one place every action call of the webhook passes, so no action has to remember
it; gives every log record the id and the handlers rasa_sdk set up our LOG_FORMAT; and serves the metrics
of actions/observability.py on ACTIONS_METRICS_PORT when it is set.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import start_http_server
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from actions.observability import (
    ACTION_RUNS,
    ACTION_SECONDS,
    REGISTRY,
    UNKNOWN_ACTION,
    request_id_of,
    reset_request_id,
    set_request_id,
)
from contract.observability import format_existing_handlers, install_record_factory
from nlu.settings import bot_settings

logger = logging.getLogger(__name__)

# rasa_sdk's own method, as imported (before install()).
RASA_SDK_RUN = ActionExecutor.run


async def run(executor: ActionExecutor, action_call: dict[str, Any]) -> dict[str, Any] | None:
    """rasa_sdk's ActionExecutor.run, under the message's id, counted and timed."""
    name = action_call.get("next_action")
    label = name if isinstance(name, str) and name in executor.actions else UNKNOWN_ACTION
    token = set_request_id(request_id_of(action_call))
    started, outcome = time.perf_counter(), "error"
    try:
        result = await RASA_SDK_RUN(executor, action_call)
        outcome = "ok"
        return result
    except ActionExecutionRejection:
        outcome = "rejected"
        raise
    except ActionNotFoundException:
        outcome = "not_found"
        raise
    except Exception:
        # rasa_sdk logs it too, but after this call, without the message's id.
        logger.exception("action %s failed", name)
        raise
    finally:
        seconds = time.perf_counter() - started
        ACTION_RUNS.labels(label, outcome).inc()
        ACTION_SECONDS.labels(label).observe(seconds)
        logger.info(
            "action %s: %s in %.1f ms",
            name,
            outcome,
            seconds * 1000,
            extra={"action": name, "outcome": outcome, "duration_ms": round(seconds * 1000, 1)},
        )
        reset_request_id(token)


_metrics_port: int | None = None


def install() -> None:
    """Once per process: the id on log records, our log format, the wrapped executor, the metrics port."""
    global _metrics_port
    settings = bot_settings()
    install_record_factory()
    format_existing_handlers(settings.log_format)  # rasa_sdk set up its handlers before importing actions
    ActionExecutor.run = run  # type: ignore[method-assign]
    port = settings.actions_metrics_port
    if port is not None and _metrics_port is None:
        try:
            start_http_server(port, registry=REGISTRY)
        except OSError:
            # Actions without metrics beat no actions: customers still get answers; the operator sees this.
            logger.exception("action server metrics: port %d is not free, no metrics served", port)
        else:
            _metrics_port = port
            logger.info("action server metrics on port %d (/metrics)", port)


install()  # rasa_sdk imports every module of this package as the action server starts
