"""Parse every labelled customer turn with a trained Rasa model: what the bot acts on, per turn.

Runs in the bot venv (Rasa 3.6): `python -m ml.parse_turns --model var/models/current.tar.gz --out FILE`.
The parse is Rasa's whole NLU pipeline, FallbackClassifier included, so an unclear message comes out as
`nlu_fallback` exactly as the dialogue sees it; the sentiment is the pipeline's own component.

Output: JSON {"conversations": {conversation id: [{"intent", "confidence", "sentiment_label",
"sentiment_score", "embedding"}, ...]},
"airline_test": {"labels": [...], "predicted": [...]}} (the second only with
--airline-test: the shipped model's sentiment on the public airline test split, so a change shows there).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
from pathlib import Path
from typing import Any

from contract.embedding import PARSE_KEY
from ml import conversations


def _turn_parse(parse: dict[str, Any]) -> dict[str, Any]:
    intent = parse.get("intent") or {}
    sentiment = parse.get("sentiment") or {}
    return {
        "intent": intent.get("name"),
        "confidence": intent.get("confidence"),
        "sentiment_label": sentiment.get("label"),
        "sentiment_score": sentiment.get("score"),
        # The sentence embedding the backend stores and the hand-off policy's text models read
        # (contract/embedding.py), as the server's parse carries it.
        "embedding": parse.get(PARSE_KEY),
    }


async def parse_all(model: Path, airline_test: Path | None) -> dict[str, Any]:
    # The bot venv's Rasa; importing it is slow, so only when run.
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise
    agent = Agent.load(str(model))
    parsed: dict[str, list[dict[str, Any]]] = {}
    for conversation in conversations.load():
        parsed[conversation.id] = [_turn_parse(await agent.parse_message(t.text)) for t in conversation.turns]
    result: dict[str, Any] = {"conversations": parsed}
    if airline_test is not None:
        with airline_test.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        predicted = [_turn_parse(await agent.parse_message(r["text"]))["sentiment_label"] for r in rows]
        result["airline_test"] = {"labels": [r["sentiment"] for r in rows], "predicted": predicted}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--airline-test", type=Path, help="also label this airline_sentiment CSV")
    args = parser.parse_args()
    parsed = asyncio.run(parse_all(args.model, args.airline_test))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(parsed, indent=1, sort_keys=True))
    turns = sum(map(len, parsed["conversations"].values()))
    print(f"parsed {turns} turns of {len(parsed['conversations'])} conversations -> {args.out}")


if __name__ == "__main__":
    main()
