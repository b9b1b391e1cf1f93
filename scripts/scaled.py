"""The scaled-out topology without Docker (`make run-scaled`): what docker-compose.yml runs, as processes.

    PostgreSQL (127.0.0.1:5432): the CRM database and Rasa's tracker database (created if missing)
    Redis (127.0.0.1:6379):      Rasa's lock store (one conversation's turns in order across replicas, db 1)
                                 and the backend's live-event relay between its workers (db 0)
    RabbitMQ (127.0.0.1:5672):   Rasa's event broker (queue rasa_events)
    two Rasa replicas (5005, 5006, bot/endpoints.scaled.yml), the action server (5055),
    the backend (8000) with several uvicorn workers; it spreads turns over the replicas (RASA_URLS).

PostgreSQL, Redis and RabbitMQ are expected to run already (as on this machine: loopback, trust auth for the
postgres user, guest/guest; Redis without a password unless REDIS_PASSWORD gives the one it requires, which
then goes to the backend's REDIS_URL and Rasa's lock store). Rasa's HTTP API wants a token made per run.
`python -m scripts.scaled run` migrates and seeds, starts everything, waits until healthy, prints the URLs
and stops it all on Ctrl-C; logs are in var/log/scaled/. `scripts/chaos.py` and the scaled end-to-end test
use the same `ScaledStack` class with their own ports and databases.
"""

import argparse
import os
import shutil
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from scripts.paths import ROOT, VAR
from scripts.stack import Stack, StackConfig, _model_loaded, _ok, supervise

# (URL, check): a process is healthy when check(URL) is true.
HealthCheck = tuple[str, Callable[[str], bool]]
WORKER_PING_TIMEOUT_S = 60
DEFAULT_CRM_DB = "postgresql://postgres@127.0.0.1:5432/supportdesk_scaled"
DEFAULT_TRACKER_DB = "postgresql://postgres@127.0.0.1:5432/supportdesk_rasa"


@dataclass
class ScaledConfig(StackConfig):
    database_url: str = DEFAULT_CRM_DB
    tracker_database_url: str = DEFAULT_TRACKER_DB
    rasa_ports: tuple[int, ...] = (5005, 5006)
    backend_workers: int = 2
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    # The password the Redis server requires (`requirepass`); empty: none.
    redis_password: str = ""
    rabbitmq_host: str = "127.0.0.1"
    rabbitmq_user: str = "guest"
    rabbitmq_password: str = "guest"
    # A lock ticket of a Rasa replica killed mid-turn blocks its conversation until the ticket expires
    # (Rasa's default is 60 s); longer than any healthy turn, shorter than a customer's patience.
    ticket_lock_lifetime_s: int = 20
    # Turns per backend worker per replica at a time: Rasa works through a turn mostly on one core, so more
    # would only queue inside Rasa, where a turn keeps being worked on after its customer gave up.
    rasa_max_in_flight: int = 4
    log_dir: Path = VAR / "log" / "scaled"
    work_dir: Path = VAR / "scaled"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def metrics_dir(self) -> Path:
        return self.work_dir / "metrics"

    def redis_url(self, db: int) -> str:
        auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/{db}"

    @property
    def rasa_names(self) -> list[str]:
        return [f"rasa-{i + 1}" for i in range(len(self.rasa_ports))]


class ScaledStack(Stack):
    config: ScaledConfig

    # ---- lifecycle -------------------------------------------------------------------------------------
    def prepare_database(self) -> None:
        for url in (self.config.database_url, self.config.tracker_database_url):
            create_database_if_missing(url)
        # The seed and bootstrap run with the workers' environment, PROMETHEUS_MULTIPROC_DIR included, and
        # prometheus_client writes there from import on; start() empties it again for the backend.
        self.config.metrics_dir.mkdir(parents=True, exist_ok=True)
        super().prepare_database()

    def start(self) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn("actions", self._action_command(), cwd=ROOT)
        # Replicas may start together: Rasa retries when another one is creating the tracker tables.
        for name in self.config.rasa_names:
            self.restart(name)
        # The workers' metrics files (prometheus_client multiprocess mode) start empty with the backend.
        shutil.rmtree(self.config.metrics_dir, ignore_errors=True)
        self.config.metrics_dir.mkdir(parents=True)
        self._spawn("backend", self._backend_command(), cwd=ROOT)

    def wait_healthy(self, timeout_s: float = 300, names: Iterable[str] | None = None) -> None:
        """Wait until every process (or the named ones) answers its health check."""
        checks = self._checks()
        self._wait({name: checks[name] for name in names} if names else checks, timeout_s)

    def restart(self, name: str) -> None:
        if name in self.config.rasa_names:
            port = self.config.rasa_ports[self.config.rasa_names.index(name)]
            self._spawn(name, self._replica_command(port), cwd=ROOT / "bot")
        else:
            super().restart(name)

    def backend_worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the backend's supervisor process)."""
        supervisor = self.processes["backend"].pid
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        return [int(pid) for pid in children if "spawn_main" in _cmdline(int(pid))]

    # ---- processes -------------------------------------------------------------------------------------
    def _checks(self) -> dict[str, HealthCheck]:
        c = self.config
        checks: dict[str, HealthCheck] = {
            "actions": (c.url(c.action_port) + "/health", _ok),
            "backend": (c.url(c.backend_port) + "/health", _ok),
        }
        for name, port in zip(c.rasa_names, c.rasa_ports, strict=True):
            checks[name] = (c.rasa_status_url(port), _model_loaded)
        return {name: check for name, check in checks.items() if name in self.processes}

    def _env(self) -> dict[str, str]:
        c = self.config
        tracker = make_url(c.tracker_database_url)
        replicas = ",".join(c.url(port) for port in c.rasa_ports)
        return {
            **super()._env(),
            # backend
            "RASA_URL": c.url(c.rasa_ports[0]),
            "RASA_URLS": replicas,
            "REDIS_URL": c.redis_url(0),
            "RASA_MAX_IN_FLIGHT": str(c.rasa_max_in_flight),
            # The backend's analytics consume the tracker events Rasa publishes (queue rasa_events).
            "RABBITMQ_URL": f"amqp://{c.rabbitmq_user}:{c.rabbitmq_password}@{c.rabbitmq_host}:5672/",
            "KB_INDEX_DIR": str(c.work_dir / "kb_index"),
            "RISK_MODEL_DIR": str(c.work_dir / "risk_models"),
            # One scrape of /metrics answers for every worker (backend/core/metrics.py).
            "PROMETHEUS_MULTIPROC_DIR": str(c.metrics_dir),
            # Customer erasure and retention delete trackers where these replicas keep them (not the SQLite
            # file of the single-machine setup, which RASA_TRACKER_DB still names).
            "RASA_TRACKER_STORE_URL": c.tracker_database_url,
            # Rasa (bot/endpoints.scaled.yml)
            "RASA_DB_HOST": tracker.host or "127.0.0.1",
            "RASA_DB_PORT": str(tracker.port or 5432),
            "RASA_DB_NAME": tracker.database or "",
            "RASA_DB_USER": tracker.username or "postgres",
            "RASA_DB_PASSWORD": tracker.password or "",
            "REDIS_HOST": c.redis_host,
            "REDIS_PORT": str(c.redis_port),
            # Empty is no password (redis-py sends no AUTH), and the variable must exist for the endpoints.
            "REDIS_PASSWORD": c.redis_password,
            "RABBITMQ_HOST": c.rabbitmq_host,
            "RABBITMQ_USER": c.rabbitmq_user,
            "RABBITMQ_PASSWORD": c.rabbitmq_password,
            "TICKET_LOCK_LIFETIME": str(c.ticket_lock_lifetime_s),
            **c.extra_env,
        }

    def _backend_command(self) -> list[str]:
        # uvicorn kills a worker that does not answer its health ping within 5 s; a worker importing torch
        # and loading the knowledge index on a busy machine can take longer, and would be killed in a loop.
        # A worker that really dies is still replaced at once (its process is gone).
        return [*super()._backend_command(), "--timeout-worker-healthcheck", str(WORKER_PING_TIMEOUT_S)]

    def _replica_command(self, port: int) -> list[str]:
        command = self._rasa_command()
        command[command.index("--port") + 1] = str(port)
        command[command.index("--endpoints") + 1] = "endpoints.scaled.yml"
        return command


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _admin_url(url: str) -> tuple[str, str]:
    """(libpq URL of the server's `postgres` database, name of the database in `url`)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database or ""


def create_database_if_missing(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(config: ScaledConfig) -> None:
    stack = ScaledStack(config)
    stack.prepare_database()
    print("scaled: starting the action server, Rasa replicas and backend workers…", flush=True)
    base = config.url(config.backend_port)
    replicas = ", ".join(config.url(port) for port in config.rasa_ports)
    banner = (
        "\nSupportdesk (scaled out) is running:\n"
        f"  chat widget demo  {base}/demo\n"
        f"  agent inbox       {base}/inbox\n"
        f"  backend workers   {config.backend_workers}\n"
        f"  Rasa replicas     {replicas}\n"
        f"  logs              {config.log_dir}\n"
        "Press Ctrl-C to stop."
    )
    supervise(stack, banner, "scaled", config.log_dir)


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run"])
    env = os.environ.get
    parser.add_argument("--database-url", default=env("SCALED_DATABASE_URL", DEFAULT_CRM_DB))
    parser.add_argument(
        "--tracker-database-url", default=env("SCALED_TRACKER_DATABASE_URL", DEFAULT_TRACKER_DB)
    )
    parser.add_argument("--backend-port", type=int, default=int(env("BACKEND_PORT", 8000)))
    parser.add_argument("--backend-workers", type=int, default=int(env("BACKEND_WORKERS", 2)))
    parser.add_argument("--rasa-ports", type=int, nargs="+", default=[5005, 5006])
    parser.add_argument("--action-port", type=int, default=int(env("ACTION_PORT", 5055)))
    parser.add_argument(
        "--redis-password",
        default=env("REDIS_PASSWORD", ""),
        help="the password Redis requires; better given as REDIS_PASSWORD (`ps` shows arguments)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    run(
        ScaledConfig(
            database_url=args.database_url,
            tracker_database_url=args.tracker_database_url,
            backend_port=args.backend_port,
            backend_workers=args.backend_workers,
            rasa_ports=tuple(args.rasa_ports),
            action_port=args.action_port,
            redis_password=args.redis_password,
            seed_dates="today",  # a demo, as `make run`: its orders dated from the day it is seeded
        )
    )


if __name__ == "__main__":
    main()
