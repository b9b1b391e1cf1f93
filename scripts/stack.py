"""Starts the whole system as processes: backend (uvicorn), Rasa server and action server.

`python -m scripts.stack run` (what `make run` calls): migrates and seeds the database, starts the three
processes, waits until each one is healthy, prints the URLs, and stops them all on Ctrl-C.
The end-to-end tests use the same `Stack` class with their own ports, database and log folder.
"""

import argparse
import atexit
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from scripts.paths import APP_PYTHON, BOT_BIN, CURRENT_MODEL, ROOT, VAR
from scripts.train_bot import encoder_dir

# What an interrupted caller leaves to the processes it started before it kills them.
STOP_GRACE_S = 15.0
# Every process group this interpreter started (by leader pid) that may still have members: a signal or the
# interpreter's exit must not leave one behind, whatever state the caller's own clean-up is in.
_groups: dict[int, subprocess.Popen[bytes]] = {}
# A stop request that arrives twice at once is one request: `make` passes a SIGTERM it gets on to its child,
# so a SIGTERM to make's process group (a supervisor's stop) reaches this process twice. A second request
# after this long is a person insisting (Ctrl-C again): the processes are killed outright.
SAME_REQUEST_S = 2.0
_first_signal_at: float | None = None
# `make run`'s Rasa HTTP API token: one per install, made on the first run, never in git (var/ is ignored).
LOCAL_RASA_TOKEN = VAR / "rasa_token"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class StackConfig:
    database_url: str
    model: Path = CURRENT_MODEL
    host: str = "127.0.0.1"
    backend_port: int = 8000
    rasa_port: int = 5005
    action_port: int = 5055
    log_dir: Path = VAR / "log"
    rasa_tracker_db: Path = VAR / "rasa_tracker.db"
    backend_workers: int = 1
    # Rasa's HTTP API refuses calls without it; Rasa (bot/rasa_run.py) and the backend get it as RASA_TOKEN,
    # in their environment, never on a command line.
    # A fresh one per stack unless the caller passes one (`make run`: the install's, local_rasa_token()).
    rasa_token: str = field(default_factory=new_secret)
    # Rasa's input channels, a file in bot/: the product's (the hub channel alone), or the benchmarks' with
    # Rasa's unauthenticated `rest` channel beside it (credentials.bench.yml, for the bare-Rasa runs).
    credentials: str = "credentials.yml"
    extra_env: dict[str, str] = field(default_factory=dict)
    # Weeks of seeded history (backend/seed_history.py): the demo's past for `make run`; none for the test
    # stacks, whose tests count the cases and decisions they make themselves.
    history_weeks: int = 0
    # The company's dates (backend/seed.py): fixed for the test and evaluation stacks, whose orders must be
    # the same whatever day they run; from today for `make run`, so the demo's orders read as a live shop's.
    seed_dates: str = "fixed"
    # The backend's command line, when not uvicorn's as _backend_command builds it (scripts/profile_live.py
    # runs the worker under its CPU sampler).
    backend_command: list[str] | None = None

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    def rasa_status_url(self, port: int) -> str:
        """Rasa's GET /status (the model is loaded), which wants the API token like every API route."""
        return f"{self.url(port)}/status?{urlencode({'token': self.rasa_token})}"


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # ---- lifecycle -------------------------------------------------------------------------------------
    def prepare_database(self) -> None:
        env = self._env()
        run = [str(APP_PYTHON), "-m"]
        subprocess.run([*run, "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
        # The first lead model (simulated outcomes, as the risk models' first; before the seed, which scores
        # its past leads with it): without it the rules' uncalibrated points would score leads.
        subprocess.run([*run, "ml.leads", "--save", "--if-missing", "--quiet"], cwd=ROOT, env=env, check=True)
        seed = [*run, "backend.seed", "--history-weeks", str(self.config.history_weeks)]
        seed += ["--dates", self.config.seed_dates]
        subprocess.run(seed, cwd=ROOT, env=env, check=True)
        # First churn and escalation models (idempotent: nothing to do once production versions exist).
        subprocess.run([*run, "ml.risk.bootstrap"], cwd=ROOT, env=env, check=True)

    def start(self) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawn("actions", self._action_command(), cwd=ROOT)
        self._spawn("rasa", self._rasa_command(), cwd=ROOT / "bot")
        self._spawn("backend", self._backend_command(), cwd=ROOT)

    def wait_healthy(self, timeout_s: float = 300) -> None:
        checks = {
            "actions": (self.config.url(self.config.action_port) + "/health", _ok),
            "rasa": (self.config.rasa_status_url(self.config.rasa_port), _model_loaded),
            "backend": (self.config.url(self.config.backend_port) + "/health", _ok),
        }
        self._wait(checks, timeout_s)

    def _wait(self, checks: dict[str, tuple[str, Callable[[str], bool]]], timeout_s: float) -> None:
        """Poll each (url, healthy) check until all pass; fail at once if a process exits meanwhile."""
        deadline = time.monotonic() + timeout_s
        pending = dict(checks)
        while pending:
            for name in list(pending):
                self._fail_if_exited(name)
                url, healthy = pending[name]
                if healthy(url):
                    del pending[name]
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"not healthy after {timeout_s:.0f} s: {', '.join(pending)}; see {self.config.log_dir}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        stop_groups(list(self.processes.values()))

    def kill(self, name: str) -> None:
        """Hard-kill one process (fault-injection tests)."""
        _killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()
        _groups.pop(self.processes[name].pid, None)

    def restart(self, name: str) -> None:
        commands = {
            "actions": self._action_command,
            "rasa": self._rasa_command,
            "backend": self._backend_command,
        }
        self._spawn(name, commands[name](), cwd=ROOT / "bot" if name == "rasa" else ROOT)

    # ---- processes -------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        c = self.config
        return {
            # A stack on this machine (make run, run-scaled, bench, chaos, the e2e tests) is a development
            # one unless the caller's environment says otherwise: the backend then starts with the built-in
            # secrets, which it refuses in production (backend/core/config.py). tests/stack.py runs
            # production with its own.
            "ENVIRONMENT": "development",
            # The backend encodes knowledge queries with the bot's ONNX export of the base model.
            "KB_ENCODER_ONNX_DIR": str(encoder_dir()),
            **os.environ,
            "DATABASE_URL": c.database_url,
            "RASA_URL": c.url(c.rasa_port),
            "RASA_TOKEN": c.rasa_token,
            "BACKEND_URL": c.url(c.backend_port),
            "PUBLIC_URL": c.url(c.backend_port),
            "ACTION_SERVER_URL": c.url(c.action_port) + "/webhook",
            "RASA_TRACKER_DB": str(c.rasa_tracker_db),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bot'}",
            "HF_HUB_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **c.extra_env,
        }

    def _action_command(self) -> list[str]:
        return [
            str(BOT_BIN / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(self.config.action_port),
        ]

    def _rasa_command(self) -> list[str]:
        c = self.config
        # `rasa run` through bot/rasa_run.py, which hands Rasa the API token from RASA_TOKEN (_env) in
        # memory: Rasa reads it only from `--auth-token`, and a command line is public (`ps`) on this machine.
        return [
            str(BOT_BIN / "python"),
            "-m",
            "rasa_run",
            "--model",
            str(c.model),
            "--enable-api",
            "--port",
            str(c.rasa_port),
            "--interface",
            c.host,
            "--credentials",
            c.credentials,
            "--endpoints",
            "endpoints.yml",
        ]

    def _backend_command(self) -> list[str]:
        c = self.config
        if c.backend_command is not None:
            return c.backend_command
        return [
            str(APP_PYTHON),
            "-m",
            "uvicorn",
            "backend.main:create_app",
            "--factory",
            "--host",
            c.host,
            "--port",
            str(c.backend_port),
            "--workers",
            str(c.backend_workers),
            "--no-access-log",
        ]

    def _spawn(self, name: str, command: list[str], cwd: Path) -> None:
        # Whatever script started the stack (an evaluation, a benchmark), a SIGTERM to it must reach the
        # groups below, which sit in sessions of their own.
        if threading.current_thread() is threading.main_thread():
            stop_on_signals()
        log = (self.config.log_dir / f"{name}.log").open("ab")
        # Each process leads its own group so stop() also reaches the workers it forks.
        process = subprocess.Popen(
            command, cwd=cwd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        _groups[process.pid] = process

    def _fail_if_exited(self, name: str) -> None:
        code = self.processes[name].poll()
        if code is not None:
            log = self.config.log_dir / f"{name}.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{name} exited with code {code} while starting; end of {log}:\n{tail}")


def stop_groups(processes: list[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each process's group, wait up to `grace_s` for the leaders, SIGKILL the groups still there."""
    for process in processes:
        _killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in processes:
        # Also members that outlived their leader (a uvicorn worker whose supervisor died).
        _killpg(process.pid, signal.SIGKILL)
        process.wait()
        _groups.pop(process.pid, None)


def stop_on_signals() -> None:
    """Make SIGTERM and Ctrl-C stop every started process group, not just this interpreter.

    The first signal passes SIGTERM on to the groups at once, then unwinds this process like a Ctrl-C, so
    its own clean-up (Stack.stop in a fixture's teardown, supervise's finally) still runs and reaps them;
    they stop even if that clean-up never gets there. A second signal SIGKILLs them. Python's default for
    SIGTERM is to die without any clean-up, and the groups, in sessions of their own, would never hear of
    it. Handlers a caller installed itself are left alone.
    """
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_signal)


def _on_signal(_signum: int, _frame: object) -> None:
    global _first_signal_at
    now = time.monotonic()
    if _first_signal_at is None:
        _first_signal_at = now
        for pid in list(_groups):
            _killpg(pid, signal.SIGTERM)
        raise KeyboardInterrupt
    # The stop is already under way (raising again would break off its clean-up); only insist if asked to.
    if now - _first_signal_at >= SAME_REQUEST_S:
        for pid in list(_groups):
            _killpg(pid, signal.SIGKILL)


@atexit.register
def _stop_leftovers() -> None:
    """At exit: the groups no Stack.stop() reaped (a caller that died of an exception, a test interrupted)."""
    stop_groups(list(_groups.values()), grace_s=5.0)


def _killpg(pid: int, sig: int) -> None:
    # The group is gone once its last member was reaped; and nobody else may reuse an id while it exists.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def local_rasa_token(path: Path = LOCAL_RASA_TOKEN) -> str:
    """This install's Rasa API token, made on first use: random, readable by its owner alone (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two `make run`s starting at once cannot each write a token of their own.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)  # a copy restored with a looser mode is tightened again
        token = path.read_text().strip()
        if token:
            return token
        raise RuntimeError(f"{path} is empty: delete it and run again for a new token") from None
    token = new_secret()
    with os.fdopen(fd, "w") as file:
        file.write(token + "\n")
    return token


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _model_loaded(url: str) -> bool:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("model_file"))


def run(config: StackConfig) -> None:
    stack = Stack(config)
    stack.prepare_database()
    print("stack: starting the action server, Rasa server and backend…", flush=True)
    base = config.url(config.backend_port)
    banner = (
        "\nSupportdesk is running:\n"
        f"  chat widget demo  {base}/demo\n"
        f"  agent inbox       {base}/inbox\n"
        f"  admin             {base}/admin\n"
        f"  API docs          {base}/docs\n"
        f"  Rasa server       {config.url(config.rasa_port)} (API token in {LOCAL_RASA_TOKEN}, as ?token=)\n"
        f"  logs              {config.log_dir}\n"
        "Press Ctrl-C to stop."
    )
    supervise(stack, banner, "stack", config.log_dir)


def supervise(stack: Any, banner: str, name: str, log_dir: Path) -> None:
    """Start a stack (Stack or ScaledStack), print the banner once it is healthy, and stop every process on
    Ctrl-C, on `kill`, or as soon as one of them exits."""
    try:
        stack.start()
        stack.wait_healthy()
        print(banner, flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        exited = [n for n, p in stack.processes.items() if p.poll() is not None]
        print(f"{name}: {', '.join(exited)} stopped unexpectedly; see {log_dir}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"\n{name}: stopping…", flush=True)
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--backend-port", type=int, default=int(os.environ.get("BACKEND_PORT", 8000)))
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", 5055)))
    args = parser.parse_args()
    from backend.core.config import get_settings

    stop_on_signals()  # `kill` stops the children like Ctrl-C does
    run(
        StackConfig(
            database_url=get_settings().database_url,
            backend_port=args.backend_port,
            rasa_port=args.rasa_port,
            action_port=args.action_port,
            history_weeks=6,
            seed_dates="today",
            rasa_token=local_rasa_token(),
        )
    )


if __name__ == "__main__":
    main()
