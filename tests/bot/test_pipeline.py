"""bot/config.yml end to end: `train_nlu` on a tiny data set, then the parse as the server and tracker see it.

Same pipeline and components as bot/config.yml; only the sentiment model trains on a subset of its CSV so the
test stays quick (the full-data figures are in scripts/eval_nlu.py and scripts/eval_sentiment.py).
"""

import asyncio
from pathlib import Path

import numpy as np
import pytest
import yaml

from contract.embedding import PARSE_KEY, as_bytes

ROOT = Path(__file__).resolve().parents[2]
NLU_DATA = """
version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hi
      - hello there
      - good morning
      - hey
  - intent: order_status
    examples: |
      - where is my order [A12345](order_id)
      - my package hasn't arrived
      - track order [B55555](order_id)
      - when will my delivery come
  - intent: refund
    examples: |
      - I want my money back
      - refund please
      - can I get a refund for order [C98765](order_id)
      - return this item and refund me
  - regex: order_id
    examples: |
      - \\b[A-Z]\\d{5}\\b
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory, encoder_dir, sentiment_config) -> Path:
    from rasa.model_training import train_nlu

    work = tmp_path_factory.mktemp("pipeline")
    config = yaml.safe_load((ROOT / "bot" / "config.yml").read_text())
    for entry in config["pipeline"]:
        if entry["name"] == "nlu.featurizer.SentenceEncoderFeaturizer":
            entry["encoder_dir"] = str(encoder_dir)
        if entry["name"] == "nlu.sentiment.SentimentAnalyzer":
            entry.update(sentiment_config)
    (work / "config.yml").write_text(yaml.safe_dump(config))
    (work / "nlu.yml").write_text(NLU_DATA)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(work / "cache"))  # not the repo's working directory
        archive = train_nlu(str(work / "config.yml"), str(work / "nlu.yml"), str(work / "models"))
    assert archive is not None
    return Path(archive)


def test_parse_has_intent_entities_and_sentiment(model: Path) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    parse = asyncio.run(agent.parse_message("where is my order A12345? this is ridiculous"))
    assert {"intent", "intent_ranking", "entities", "sentiment"} <= set(parse)
    assert parse["intent"]["name"] == "order_status"
    assert any(e["entity"] == "order_id" and e["value"] == "A12345" for e in parse["entities"])
    # The parse carries the sentiment contract; what it judges is tests/bot/test_sentiment.py's subject.
    assert parse["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert -1.0 <= parse["sentiment"]["score"] <= 1.0


def test_the_trained_models_parse_carries_the_embedding_of_what_was_typed(model: Path) -> None:
    """For the hand-off policy's text models (nlu/embedding_in_parse.py, contract/embedding.py)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    first = asyncio.run(agent.parse_message("my parcel never arrived"))
    again = asyncio.run(agent.parse_message("my parcel never arrived"))
    other = asyncio.run(agent.parse_message("how do I change my password"))
    raws = [as_bytes(p.get(PARSE_KEY)) for p in (first, again, other)]
    assert all(raw is not None for raw in raws)
    vectors = [np.frombuffer(raw, dtype="<f2").astype(np.float64) for raw in raws if raw is not None]
    assert abs(np.linalg.norm(vectors[0]) - 1.0) < 0.01  # MiniLM's embedding, normalised
    assert np.array_equal(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2], atol=0.05)


def test_sentiment_survives_into_the_stored_tracker(model: Path, tmp_path: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.core.channels import UserMessage
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "trackers.db"))
    agent = Agent.load(str(model), tracker_store=store)
    message = UserMessage("thank you so much, great service", sender_id="customer-1", message_id="m-1")
    asyncio.run(agent.processor.log_message(message))

    # Read back from the database, as the hub channel does.
    tracker = asyncio.run(store.retrieve("customer-1"))
    (event,) = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert event.message_id == "m-1"
    assert event.parse_data["sentiment"]["label"] == "positive"
    assert -1.0 <= event.parse_data["sentiment"]["score"] <= 1.0


def test_the_hub_channel_answers_with_the_parse_of_the_tracker_the_turn_saved(
    model: Path, tmp_path: Path
) -> None:
    import json
    from types import SimpleNamespace

    from channels.hub import HubInput
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "trackers.db"))
    agent = Agent.load(str(model), tracker_store=store)
    reads: list[str] = []
    retrieve = agent.tracker_store.retrieve

    async def counted_retrieve(sender_id: str):
        reads.append(sender_id)
        return await retrieve(sender_id)

    agent.tracker_store.retrieve = counted_retrieve
    blueprint = HubInput().blueprint(agent.handle_message)
    receive = next(route.handler for route in blueprint._future_routes if route.uri == "/webhook")
    # The handler reads only the body, the correlation header and the app's agent from the request.
    request = SimpleNamespace(
        json={"sender": "conv-9", "message": "where is my order A12345? ridiculous", "message_id": "m-7"},
        headers={"X-Request-ID": "req-pipeline-7"},
        app=SimpleNamespace(ctx=SimpleNamespace(agent=agent)),
    )
    body = json.loads(asyncio.run(receive(request)).body)
    parse = body["parse"]
    assert parse["intent"]["name"] == "order_status" and parse["message_id"] == "m-7"
    assert parse["sentiment"]["label"] in {"negative", "neutral", "positive"}
    # One read: the turn's own at its start. The parse came from the tracker the turn saved, not a re-read.
    assert reads == ["conv-9"]
