"""The environment variables of the Rasa side (NLU components, action server) and the project's folders.

The backend reads its settings with pydantic-settings (backend/core/config.py), but the bot venv runs Rasa's
pinned pydantic 1 and the app venv imports nlu/ too, so this module is the standard library only and
importable from both. It is the one place outside backend/core/config.py that reads the environment
(tests/core/test_env_reads.py keeps it so).

`bot_settings()` reads the environment on every call rather than once at import: it is a handful of dict
look-ups, and a test (or a restarted action server) that sets a variable is then honoured at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# nlu/ sits at the repository's root.
REPO_ROOT = Path(__file__).resolve().parent.parent

BACKEND_URL = "BACKEND_URL"
SERVICE_TOKEN = "SERVICE_TOKEN"
ENCODER_DIR = "SUPPORTDESK_ENCODER_DIR"
ENCODER_THREADS = "SUPPORTDESK_ENCODER_THREADS"
CACHE = "SUPPORTDESK_CACHE"
SHARED_DATA = "SUPPORTDESK_SHARED_DATA"
LOG_FORMAT = "LOG_FORMAT"
ACTIONS_METRICS_PORT = "ACTIONS_METRICS_PORT"
RASA_TOKEN = "RASA_TOKEN"
ACTIONS_BACKEND_TIMEOUT_S = "ACTIONS_BACKEND_TIMEOUT_S"

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
# The backend's published development value (backend/core/config.py DEVELOPMENT_SECRETS), refused there in
# production, so an action server left on it cannot talk to a production backend.
DEFAULT_SERVICE_TOKEN = "dev-service-token"
# A customer is waiting for the reply: better a polite error than a stalled chat.
DEFAULT_BACKEND_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class BotSettings:
    # The backend's service API, called by the action server.
    backend_url: str
    service_token: str
    # The ONNX export of the sentence encoder the featurizer packages at train time; None: config.yml says.
    encoder_dir: Path | None
    # One thread by default: the Rasa server encodes one short message per turn, and its parallelism is
    # across turns and processes sharing the machine. Training and evaluation, which encode batches, set 0
    # (every core).
    encoder_threads: int
    # Venvs, encoder exports and embedding caches (scripts/bootstrap.sh reads the same variable).
    cache_dir: Path
    # The public data sets, read in place: by default ../shared/data beside the repository.
    shared_data_dir: Path
    # "text" or "json" (contract/observability.py), the same variable and values as the backend's LOG_FORMAT.
    log_format: str
    # The action server's Prometheus metrics on this port; None: not served (a fixed default port would
    # clash between two action servers on one machine, as tests and `make run-scaled` start them).
    actions_metrics_port: int | None
    # The secret the hub channel asks its callers for (the Rasa HTTP API's --auth-token); empty: none asked.
    rasa_token: str
    # How long the action server waits for one backend call before the action answers with its polite error.
    backend_timeout_s: float

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> BotSettings:
        encoder_dir = environ.get(ENCODER_DIR)
        return cls(
            backend_url=environ.get(BACKEND_URL, DEFAULT_BACKEND_URL).rstrip("/"),
            service_token=environ.get(SERVICE_TOKEN, DEFAULT_SERVICE_TOKEN),
            encoder_dir=Path(encoder_dir).expanduser() if encoder_dir else None,
            encoder_threads=int(environ.get(ENCODER_THREADS, "1")),
            cache_dir=_path(environ.get(CACHE), Path.home() / ".cache" / "supportdesk"),
            shared_data_dir=_path(environ.get(SHARED_DATA), REPO_ROOT.parent / "shared" / "data"),
            log_format=environ.get(LOG_FORMAT, "text").strip().lower() or "text",
            actions_metrics_port=_port(environ.get(ACTIONS_METRICS_PORT)),
            rasa_token=environ.get(RASA_TOKEN, ""),
            backend_timeout_s=_seconds(ACTIONS_BACKEND_TIMEOUT_S, environ, DEFAULT_BACKEND_TIMEOUT_S),
        )


def _port(value: str | None) -> int | None:
    return int(value) if value and value.strip() else None


def _seconds(name: str, environ: Mapping[str, str], default: float) -> float:
    """A positive number of seconds; anything else stops the process at start, naming the variable."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return seconds


def _path(value: str | None, default: Path) -> Path:
    return Path(value).expanduser() if value else default


def bot_settings() -> BotSettings:
    """The settings as the environment says now."""
    return BotSettings.from_environ(os.environ)
