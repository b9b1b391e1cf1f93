"""What both HTTP clients (the backend's call to Rasa, the action server's calls to the backend) need before
httpx runs: standard library only, as the rest of this package."""

import importlib.util
import sys


def remember_missing_sniffio() -> None:
    """Make `import sniffio` fail at once when sniffio is not installed, as it fails now but slowly.

    httpcore 1.0 imports sniffio inside every lock, event and semaphore it sets up (several per request) and
    takes asyncio when the import fails. sniffio is not installed (anyio 4.16 no longer requires it), and
    Python does not remember a failed import: each one searches every directory of sys.path again, the
    largest item of a call to Rasa. A None in sys.modules makes the import raise ModuleNotFoundError without
    that search, so httpcore, and anything else, takes the same branch as before."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # Python's own marker for "not importable"
