"""Starts the whole system as processes: backend (uvicorn), Rasa server and action server.

`python -m scripts.stack run` (what `make run` calls): migrates and seeds the database, starts the three
processes, waits until each one is healthy, prints the URLs, and stops them all on Ctrl-C.
The end-to-end tests use the same `Stack` class with their own ports, database and log folder.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.paths import APP_PYTHON, BOT_BIN, CURRENT_MODEL, ROOT, VAR


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
    extra_env: dict[str, str] = field(default_factory=dict)

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # ---- lifecycle -------------------------------------------------------------------------------------
    def prepare_database(self) -> None:
        env = self._env()
        run = [str(APP_PYTHON), "-m"]
        subprocess.run([*run, "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
        subprocess.run([*run, "backend.seed"], cwd=ROOT, env=env, check=True)
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
            "rasa": (self.config.url(self.config.rasa_port) + "/status", _model_loaded),
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
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def kill(self, name: str) -> None:
        """Hard-kill one process (fault-injection tests)."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

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
            **os.environ,
            "DATABASE_URL": c.database_url,
            "RASA_URL": c.url(c.rasa_port),
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
        return [
            str(BOT_BIN / "rasa"),
            "run",
            "--model",
            str(c.model),
            "--enable-api",
            "--port",
            str(c.rasa_port),
            "--interface",
            c.host,
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ]

    def _backend_command(self) -> list[str]:
        c = self.config
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
        log = (self.config.log_dir / f"{name}.log").open("ab")
        # Each process leads its own group so stop() also reaches the workers it forks.
        self.processes[name] = subprocess.Popen(
            command, cwd=cwd, env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _fail_if_exited(self, name: str) -> None:
        code = self.processes[name].poll()
        if code is not None:
            log = self.config.log_dir / f"{name}.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{name} exited with code {code} while starting; end of {log}:\n{tail}")


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
        f"  Rasa server       {config.url(config.rasa_port)}\n"
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


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    # Treat `kill` like Ctrl-C so the children are stopped too.
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--backend-port", type=int, default=int(os.environ.get("BACKEND_PORT", 8000)))
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", 5055)))
    args = parser.parse_args()
    from backend.config import get_settings

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    run(
        StackConfig(
            database_url=get_settings().database_url,
            backend_port=args.backend_port,
            rasa_port=args.rasa_port,
            action_port=args.action_port,
        )
    )


if __name__ == "__main__":
    main()
