"""The hand-off policy a backend worker decides with, replaced when its file changes.

A promotion (ml/handoff_promotion.py, `make train-handoff` or the Kubernetes CronJob) relinks the file at
HANDOFF_MODEL_PATH while the workers serve; on a cluster that file is on a volume every pod mounts. Each
worker checks the file's identity every HANDOFF_RELOAD_INTERVAL_S in a background loop, reads and parses a
changed file in a thread (never in a customer's turn), and swaps the new policy in with one assignment, so a
decision uses either the old policy or the new one, whole. A changed file that does not load (half-written,
corrupt, another format) leaves the serving policy in place, and the log says why; it is tried again only
once it changes again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from backend.core.background import Periodic
from backend.handoff.policy import HandoffPolicy, LearntPolicy, RulesPolicy, load_policy

log = logging.getLogger(__name__)

# What a decision says when a learnt policy was configured but the rules decide because none could be read.
UNLOADED = "the learnt policy file could not be loaded"

# (device, inode, modification time in ns, size) of the file the path resolves to; None: no such file.
Identity = tuple[int, int, int, int] | None


def identity_of(path: Path) -> Identity:
    """Changes when the path is relinked to another file or the file is rewritten in place."""
    try:
        found = path.stat()  # follows the link a promotion replaces
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)


@dataclass(frozen=True)
class Serving:
    """One policy with what every decision it makes must say about it, swapped in as one object."""

    policy: HandoffPolicy | None  # None: HANDOFF_POLICY=off
    fallback: str | None  # why the rules decide although a learnt policy is configured


class ServedPolicy:
    """The worker's hand-off policy: `serving` for the turn path, `loop` to keep it current."""

    def __init__(self, kind: str, path: Path, reload_interval_s: float) -> None:
        self._kind = kind
        self._path = path
        self._seen = identity_of(path)  # before the read: a change while reading is found next round
        self.serving = self._first(kind, path)
        watching = kind == "learnt" and reload_interval_s > 0
        self.loop = Periodic("hand-off policy reload", self.refresh, reload_interval_s) if watching else None

    @staticmethod
    def _first(kind: str, path: Path) -> Serving:
        if kind == "off":
            return Serving(None, None)
        policy = load_policy(kind, path)  # a learnt policy it cannot read: the rules, logged
        unloaded = kind == "learnt" and isinstance(policy, RulesPolicy)
        return Serving(policy, UNLOADED if unloaded else None)

    def start(self) -> None:
        if self.loop is not None:
            self.loop.start()

    async def stop(self) -> None:
        if self.loop is not None:
            await self.loop.stop()

    async def refresh(self) -> bool:
        """Load the file if it changed since last seen; True when a new policy now serves."""
        now = await asyncio.to_thread(identity_of, self._path)
        if now == self._seen:
            return False
        self._seen = now
        if now is None:
            log.warning("hand-off policy %s is gone; %s keeps serving", self._path, self._name())
            return False
        try:
            policy = await asyncio.to_thread(_read, self._path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("hand-off policy %s changed but does not load (%s); %s keeps serving",
                      self._path, exc, self._name())  # fmt: skip
            return False
        before = self._name()
        self.serving = Serving(policy, None)
        log.info("hand-off policy %s changed: %s now serves in place of %s", self._path, policy.name, before)
        return True

    def _name(self) -> str:
        policy = self.serving.policy
        return policy.name if policy is not None else "no policy"


def _read(path: Path) -> LearntPolicy:
    return LearntPolicy.from_json(json.loads(path.read_text()))
