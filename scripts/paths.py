"""Where the project keeps its venvs, caches and run-time files (shared by the scripts and the tests)."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

from nlu.settings import bot_settings

ROOT = Path(__file__).resolve().parent.parent
# Read through nlu/settings.py, importable from both venvs, like every SUPPORTDESK_* variable.
CACHE = bot_settings().cache_dir
VAR = ROOT / "var"
APP_PYTHON = ROOT / ".venv-app" / "bin" / "python"
BOT_BIN = ROOT / ".venv-bot" / "bin"
CURRENT_MODEL = VAR / "models" / "current.tar.gz"
SHARED_DATA = bot_settings().shared_data_dir


def content_hash(paths: Iterable[Path], extra: str = "") -> str:
    """A hash of file names and contents (directories are walked), stable across machines and checkouts."""
    digest = hashlib.sha256(extra.encode())
    # In the order of the names hashed, not of the absolute paths: a file outside the checkout (the shared
    # data) sorted before the checkout's files in /work/main and after them in /work/wtbase.
    for name, path in sorted((_hashed_name(p), p) for p in _files(paths)):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _hashed_name(path: Path) -> str:
    """A file's path in the checkout, or for a file outside it its name alone."""
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name)


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        elif path.is_file():
            yield path
