"""The past-replies index on disk: a restart loads it instead of re-encoding; only what is new is encoded; an
erased transcript leaves the files too; another encoder's files are not used; no PII is written."""

import asyncio
import json
from datetime import UTC, datetime

from backend.assist import store
from backend.assist.index import AssistIndex
from backend.core.config import Settings, to_async_url
from backend.core.database import make_engine, make_sessionmaker
from tests.assist.seeding import conversation, online
from tests.dbcheck import execute

PAST_REPLY = (
    "Hi Maria Lopez, standard shipping to Canada takes 5 to 8 business days. I sent the tracking details to "
    "maria.lopez@example.com, or call me on 4155550134."
)
PII = ("maria", "lopez", "@example.com", "4155550134")


def start(settings: Settings) -> AssistIndex:
    """A process start: a fresh index object whose first sync opens what is saved."""

    async def go() -> AssistIndex:
        engine = make_engine(to_async_url(settings.database_url))
        try:
            index = AssistIndex(make_sessionmaker(engine), settings)
            await index.sync()
            return index
        finally:
            await engine.dispose()

    return asyncio.run(go())


def search(index: AssistIndex, text: str) -> list[int]:
    query = asyncio.run(index.encode([text]))
    return [r.message_id for _, r in index.replies.search(query, 5)]


def test_a_restart_loads_the_saved_index_and_encodes_only_what_is_new(database_url, settings):
    alex = online(database_url, "alex@northwind.example")
    first = conversation(
        database_url,
        None,
        ["How long will delivery to Canada take with standard shipping?"],
        [PAST_REPLY],
        alex,
    )
    built = start(settings)
    assert built.opened == "no saved index"
    assert built.encoded == 2  # the case's summary and its one reply
    directory = store.directory_for(settings.kb_index_dir)
    assert {p.name for p in directory.iterdir()} >= {
        "manifest.json",
        "records.json",
        "replies.faiss",
        "cases.faiss",
    }
    saved = (directory / "records.json").read_text().lower()
    assert "5 to 8 business days" in saved and not any(p in saved for p in PII), saved

    again = start(settings)
    encoded_by_search = 0
    assert again.opened == "loaded" and again.encoded == encoded_by_search
    assert again.replies.records == built.replies.records and again.cases.records == built.cases.records
    assert again.watermark == built.watermark
    assert search(again, "standard shipping to Canada, how long?")[0] == first["replies"][0]

    second = conversation(
        database_url, None, ["I was charged twice for the same order"], ["I've refunded the duplicate."], alex
    )
    grown = start(settings)
    assert grown.opened == "loaded" and grown.encoded == 2  # only the new case and its reply
    assert set(grown.replies.records) == {first["replies"][0], second["replies"][0]}

    execute(
        database_url,
        "UPDATE conversations SET transcript_erased_at = :at WHERE id = :id",
        at=datetime.now(UTC),
        id=first["conversation_id"],
    )
    erased = start(settings)
    assert erased.encoded == 0 and set(erased.replies.records) == {second["replies"][0]}
    assert "5 to 8 business days" not in (directory / "records.json").read_text()


def test_files_of_another_encoder_or_damaged_are_rebuilt(database_url, settings):
    alex = online(database_url, "alex@northwind.example")
    conversation(database_url, None, ["Where is my refund?"], ["It went out today."], alex)
    start(settings)
    directory = store.directory_for(settings.kb_index_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    (directory / "manifest.json").write_text(json.dumps(manifest | {"encoder": "another-model"}))
    other = start(settings)
    assert other.opened.startswith("encoded by 'another-model'") and other.encoded == 2

    records = json.loads((directory / "records.json").read_text())
    records["replies"][0]["question"] = "something else"
    (directory / "records.json").write_text(json.dumps(records))
    damaged = start(settings)
    assert damaged.opened == "the records do not match the manifest's content hash" and damaged.encoded == 2
    assert start(settings).opened == "loaded"
