"""Rasa-side tests of the custom NLU components; they run in the bot venv (Python 3.10, Rasa 3.6).

The app venv has no Rasa, so there the whole folder is skipped. The encoder export comes from
SUPPORTDESK_ENCODER_DIR, else the newest finished export in the project cache (`make model` makes one).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nlu.settings import bot_settings

if importlib.util.find_spec("rasa") is None:
    collect_ignore_glob = ["test_*.py"]

# A seeded subset of the airline CSV: enough for the two probe sentences, quick to embed and fit.
SENTIMENT_ROWS = 800


def _cached_export() -> Path | None:
    finished = [p.parent for p in bot_settings().cache_dir.glob("encoder-*/.complete")]
    return max(finished, key=lambda p: p.stat().st_mtime) if finished else None


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    directory = bot_settings().encoder_dir or _cached_export()
    if directory is None or not (directory / "encoder.json").is_file():
        pytest.fail(
            "No sentence encoder export: set SUPPORTDESK_ENCODER_DIR or run `make model` "
            "(python -m nlu.encoder_export --out DIR in the app venv)."
        )
    return directory


@pytest.fixture(scope="session")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    return LocalModelStorage(tmp_path_factory.mktemp("model-storage"))


@pytest.fixture(scope="session")
def train_and_load(storage: Any) -> Callable[..., tuple[Any, Any]]:
    """create -> train -> load from the persisted resource, as Rasa's training and prediction graphs do.
    Returns (trained instance, instance loaded back from the model storage)."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    def run(component: Any, config: dict[str, Any], name: str, data: Any = None) -> tuple[Any, Any]:
        merged = {**component.get_default_config(), **config}
        resource = Resource(f"train_{name}")
        context = ExecutionContext(GraphSchema({}), node_name=f"train_{name}")
        trained = component.create(merged, storage, resource, context)
        trained.train(data if data is not None else TrainingData())
        context = ExecutionContext(GraphSchema({}), node_name=f"run_{name}")
        return trained, component.load(merged, storage, resource, context)

    return run


@pytest.fixture(scope="session")
def featurizer(encoder_dir: Path, train_and_load: Callable[..., tuple[Any, Any]]) -> Any:
    from nlu.featurizer import SentenceEncoderFeaturizer

    return train_and_load(SentenceEncoderFeaturizer, {"encoder_dir": str(encoder_dir)}, "featurizer")[1]


@pytest.fixture(scope="session")
def sentiment_config(encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {
        "encoder_dir": str(encoder_dir),
        "max_training_rows": SENTIMENT_ROWS,
        # Shared by every training in the session: the subset is embedded once.
        "embedding_cache_dir": str(tmp_path_factory.mktemp("sentiment-embeddings")),
    }


@pytest.fixture
def messages() -> Callable[..., list[Any]]:
    from rasa.shared.nlu.training_data.message import Message

    def build(*texts: str) -> list[Any]:
        return [Message(data={"text": text}) for text in texts]

    return build


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], httpx.Response]], list]:
    """Scripts the backend at the action server's HTTP boundary: `seen(handler)` answers every service API
    call with `handler` and returns the list of requests asked."""
    from actions import backend_client

    def use(handler: Callable[[httpx.Request], httpx.Response]) -> list[httpx.Request]:
        requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return handler(request)

        transport = httpx.MockTransport(record)
        client = lambda: httpx.AsyncClient(base_url="http://backend", transport=transport)  # noqa: E731
        monkeypatch.setattr(backend_client, "_client", client)
        return requests

    return use


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The backend scripted by route (tests/bot/scripted_backend.py); a test file that needs another shape of
    backend defines its own `backend`, which takes precedence."""
    from tests.bot.scripted_backend import Backend  # imports the actions: only in the bot venv

    return Backend(monkeypatch)
