"""The knowledge base through the API: edits are searchable at once, deletes are final, the index survives
restarts and repairs itself, and bad input gets a clear 4xx. Each test has its own index directory: empty
where building, restarting, repairing or syncing the index is the test (`kb_settings`), else a copy of the
session's prebuilt one (`kb`)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backend.core.config import Settings
from backend.main import create_app
from knowledge.store import VECTORS
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import execute, rows

ADMIN = "admin@northwind.example"

NEW_BODY = """# My order is late

## Drone delivery guarantee
Late parcels are now re-sent by drone within three hours, free of charge, anywhere in the country.
"""


@pytest.fixture
def kb_settings(settings: Settings, tmp_path: Path) -> Settings:
    # An empty directory: these tests build, restart, damage and repair the index themselves (`settings` has
    # a copy of the session's prebuilt one, tests/app_fixtures.py).
    fresh = tmp_path / "fresh_kb_index"
    return settings.model_copy(update={"kb_index_dir": fresh, "kb_sync_interval_s": 0.5})


@contextmanager
def app_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, rasa_transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    with TestClient(app) as client:
        client.headers.update(staff_headers(client, ADMIN))  # knowledge edits are for admins only
        yield client


@pytest.fixture
def kb(settings: Settings) -> Iterator[TestClient]:
    # A copy of the session's index of the seeded articles (`settings`), which the app checks against its
    # database at start: these tests are about what the API does with an index, and building one from an
    # empty directory is checked by the tests on `kb_settings` (and by `seeded_kb_index` itself).
    with app_client(settings.model_copy(update={"kb_sync_interval_s": 0.5})) as client:
        yield client


def search(client: TestClient, q: str, k: int = 5) -> dict:
    response = client.get("/api/v1/kb/search", params={"q": q, "k": k})
    assert response.status_code == 200, response.text
    return response.json()


def slugs(client: TestClient, q: str, k: int = 13) -> list[str]:
    return [r["slug"] for r in search(client, q, k)["results"]]


def test_search_returns_published_chunks_with_links_scores_and_confidence(kb):
    found = search(kb, "how long does standard shipping take?")
    top = found["results"][0]
    assert top["slug"] == "shipping-times" and top["url"] == "/kb/shipping-times"
    assert top["title"] == "Shipping times and carriers" and top["heading_path"] == [
        "How long delivery takes"
    ]
    assert "3–5 business days" in top["snippet"]
    assert top["dense_score"] > 0.5 and top["score"] > 0 and 0 < top["confidence"] < 1
    assert found["answerable"] == (top["confidence"] >= found["threshold"]) == top["answerable"]
    assert kb.get("/api/v1/service/kb/search", params={"q": "shipping"}).status_code == 401
    question = {"q": "how long does standard shipping take?"}
    served = kb.get("/api/v1/service/kb/search", params=question, headers=SERVICE_HEADERS)
    assert served.status_code == 200 and served.json() == found


@pytest.mark.parametrize(
    "text", ["what's the difference between basic and plus", "what is the difference between basic and plus"]
)
def test_a_plan_comparison_is_answered_from_the_plans_article(kb, text):
    """Issue 14: with the bank-FAQ calibration the bot said it was not sure, and before the table's rows
    named their columns the second spelling was refused. Not phrasings of ml/data/kb_questions.yml, so the
    shop calibration (fitted on that file's dev split) never saw them."""
    question = {"q": text}
    served = kb.get("/api/v1/service/kb/search", params=question, headers=SERVICE_HEADERS)
    assert served.status_code == 200, served.text
    found = served.json()
    assert found["results"][0]["slug"] == "plans-and-pricing"
    assert found["answerable"] is True and found["results"][0]["confidence"] >= found["threshold"]
    assert "$14.99" in found["results"][0]["snippet"]


def test_an_edit_is_searchable_as_soon_as_it_is_saved(kb, database_url):
    # The view re-indexes the article before it answers, so the worker that saved it never serves the old
    # text.
    question = "will you send my late parcel by drone?"
    assert "drone" not in search(kb, question)["results"][0]["snippet"]
    edited = kb.patch("/api/v1/kb/articles/late-delivery", json={"body": NEW_BODY})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    top = search(kb, question)["results"][0]
    assert top["slug"] == "late-delivery" and "drone within three hours" in top["snippet"]
    assert top["heading_path"] == ["Drone delivery guarantee"]
    versions = kb.get("/api/v1/kb/articles/late-delivery/versions").json()
    assert [(v["version"], v["author"]) for v in versions] == [(2, ADMIN), (1, "seed")]
    assert versions[1]["body"] != NEW_BODY
    audit = rows(database_url, "SELECT actor, action, entity_id FROM audit_events WHERE action LIKE 'kb.%'")
    article_id = rows(database_url, "SELECT id FROM kb_articles WHERE slug = 'late-delivery'")[0]["id"]
    assert audit == [{"actor": ADMIN, "action": "kb.article.update", "entity_id": str(article_id)}]


def test_drafts_are_not_searchable_until_published_and_unpublish_hides_again(kb):
    body = {
        "title": "Gift cards",
        "body": "Gift cards never expire and work on every order.",
        "tags": ["Gifts"],
    }
    created = kb.post("/api/v1/kb/articles", json=body)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert created.json()["slug"] == "gift-cards" and created.json()["tags"] == ["gifts"]
    assert "gift-cards" not in slugs(kb, "do gift cards expire")
    assert kb.get("/kb/gift-cards").status_code == 404
    assert kb.post("/api/v1/kb/articles/gift-cards/publish").json()["version"] == 2
    assert slugs(kb, "do gift cards expire")[0] == "gift-cards"
    assert kb.get("/kb/gift-cards").status_code == 200
    assert kb.post("/api/v1/kb/articles/gift-cards/unpublish").json()["status"] == "draft"
    assert "gift-cards" not in slugs(kb, "do gift cards expire")


def test_a_deleted_article_is_never_returned_again(kb_settings, database_url):
    questions = ["how do I return an item", "returns and refunds policy", "prepaid return label UPS"]
    with app_client(kb_settings) as kb:
        assert all("returns-policy" in slugs(kb, q) for q in questions)
        assert kb.delete("/api/v1/kb/articles/returns-policy").status_code == 204
        for q in questions:
            assert "returns-policy" not in slugs(kb, q)
            served = kb.get("/api/v1/service/kb/search", params={"q": q, "k": 20}, headers=SERVICE_HEADERS)
            assert "returns-policy" not in [r["slug"] for r in served.json()["results"]]
        assert kb.get("/kb/returns-policy").status_code == 404
        assert kb.get("/api/v1/kb/articles/returns-policy").status_code == 404
    orphans = "SELECT count(*) AS n FROM kb_article_versions v LEFT JOIN kb_articles a ON a.id = v.article_id"
    assert rows(database_url, f"{orphans} WHERE a.id IS NULL") == [{"n": 0}]
    with app_client(kb_settings) as again:  # nor after a restart
        assert all("returns-policy" not in slugs(again, q) for q in questions)


def test_a_restart_keeps_the_index(kb_settings):
    with app_client(kb_settings) as first:
        assert first.get("/api/v1/kb/index").json()["last_open"]["action"] == "rebuilt"  # a fresh directory
        first.patch("/api/v1/kb/articles/late-delivery", json={"body": NEW_BODY}).raise_for_status()
        chunks = first.get("/api/v1/kb/index").json()["status"]["chunks"]
    with app_client(kb_settings) as second:
        state = second.get("/api/v1/kb/index").json()
        assert state["last_open"] == {
            "loaded": True,
            "reason": "",
            "action": "loaded",
            "upserted": 0,
            "removed": 0,
        }
        assert state["status"]["chunks"] == chunks
        assert "drone" in search(second, "will you send my late parcel by drone?")["results"][0]["snippet"]


def test_a_corrupted_index_file_is_detected_and_rebuilt_at_start(kb_settings):
    with app_client(kb_settings) as first:
        first.get("/api/v1/kb/index").raise_for_status()
    (kb_settings.kb_index_dir / VECTORS).write_bytes(b"\x00" * 64)
    with app_client(kb_settings) as second:
        opened = second.get("/api/v1/kb/index").json()
        assert opened["available"] and opened["last_open"]["action"] == "rebuilt"
        assert "checksum mismatch: vectors.faiss" in opened["last_open"]["reason"]
        assert slugs(second, "how long does standard shipping take?")[0] == "shipping-times"
    with app_client(kb_settings) as third:  # the repaired files were saved
        assert third.get("/api/v1/kb/index").json()["last_open"]["action"] == "loaded"


def test_an_index_behind_the_database_is_patched_at_start(kb_settings, database_url):
    with app_client(kb_settings) as first:
        first.get("/api/v1/kb/index").raise_for_status()
    # Changed while no app was running (a restore, another deployment): one edit, one delete.
    edit = "UPDATE kb_articles SET body = :b, version = version + 1 WHERE slug = 'late-delivery'"
    execute(database_url, edit, b=NEW_BODY)
    execute(database_url, "DELETE FROM kb_articles WHERE slug = 'returns-policy'")
    with app_client(kb_settings) as second:
        opened = second.get("/api/v1/kb/index").json()["last_open"]
        assert (opened["action"], opened["upserted"], opened["removed"]) == ("patched", 1, 1)
        assert "drone" in search(second, "will you send my late parcel by drone?")["results"][0]["snippet"]
        assert "returns-policy" not in slugs(second, "how do I return an item")


def test_another_worker_picks_up_a_save_at_its_sync(kb_settings):
    # A liveness check, not a latency one: the reader's sync runs every kb_sync_interval_s (1 s), but on a
    # loaded CI machine re-encoding the article can take seconds (CI once saw 2.05 s), so the bound is
    # generous.
    with app_client(kb_settings) as writer, app_client(kb_settings) as reader:
        writer.patch("/api/v1/kb/articles/late-delivery", json={"body": NEW_BODY}).raise_for_status()
        started = time.monotonic()
        while (
            "drone" not in search(reader, "will you send my late parcel by drone?")["results"][0]["snippet"]
        ):
            assert time.monotonic() - started < 30.0, "the other worker never picked up the save"
            time.sleep(0.1)


def test_preview_says_what_the_bot_would_answer(kb):
    sure = kb.post("/api/v1/kb/preview", json={"question": "how long does standard shipping take?"}).json()
    assert sure["results"][0]["slug"] == "shipping-times"
    assert sure["answer"] == (sure["results"][0]["snippet"] if sure["answerable"] else None)
    unsure = kb.post(
        "/api/v1/kb/preview", json={"question": "what is the airspeed of an unladen swallow"}
    ).json()
    assert unsure["answerable"] is False and unsure["answer"] is None
    assert all(not r["answerable"] for r in unsure["results"])


def test_bulk_import_of_markdown_files_csv_and_json(kb):
    markdown = b"---\ntags: gifts, cards\n---\n# Gift cards\n\nThey never expire."
    files = [
        ("files", ("gift-cards.md", markdown, "text/markdown")),
        ("files", ("store_hours.md", b"Our stores open at 9 am.", "text/markdown")),
        (
            "files",
            ("faq.csv", b"title,body,tags\nWarranty,Two years on all gear.,warranty;gear\n", "text/csv"),
        ),
        (
            "files",
            ("more.json", b'[{"title": "Gear repairs", "body": "Free repairs for Pro."}]', "text/json"),
        ),
    ]
    imported = kb.post("/api/v1/kb/import", files=files, data={"status": "published"})
    assert imported.status_code == 200, imported.text
    assert sorted(imported.json()["created"]) == ["gear-repairs", "gift-cards", "store-hours", "warranty"]
    article = kb.get("/api/v1/kb/articles/gift-cards").json()
    assert (article["title"], article["tags"], article["status"]) == (
        "Gift cards",
        ["gifts", "cards"],
        "published",
    )
    assert kb.get("/api/v1/kb/articles/store-hours").json()["title"] == "store hours"
    assert slugs(kb, "how long is the warranty")[0] == "warranty"
    again = kb.post("/api/v1/kb/import", files=files[2:3], data={"status": "published"}).json()
    assert again == {"created": [], "updated": [], "unchanged": ["warranty"]}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("files", ("a.csv", b"name,text\nx,y\n", "text/csv"))], "must name the columns, including title"),
        ([("files", ("a.csv", b"title,colour\nx,y\n", "text/csv"))], "unknown columns ['colour']"),
        ([("files", ("a.json", b"{not json", "application/json"))], "not valid JSON"),
        ([("files", ("a.json", b'[{"title": ""}]', "application/json"))], "item 1: title"),
        (
            [("files", ("a.json", b'[{"title": "x", "status": "live"}]', "application/json"))],
            "item 1: status",
        ),
        ([("files", ("a.txt", b"hello", "text/plain"))], "use .md, .markdown, .csv or .json"),
        ([("files", ("a.md", b"\xff\xfe", "text/markdown"))], "not UTF-8"),
        (
            [("files", ("a.md", b"---\n[unclosed\n---\nbody", "text/markdown"))],
            "front matter is not valid YAML",
        ),
    ],
)
def test_bad_imports_are_refused_with_the_reason_and_change_nothing(kb, database_url, files, message):
    before = rows(database_url, "SELECT count(*) AS n FROM kb_articles")
    response = kb.post("/api/v1/kb/import", files=files)
    assert response.status_code == 422
    assert any(message in problem for problem in response.json()["detail"]), response.json()
    assert rows(database_url, "SELECT count(*) AS n FROM kb_articles") == before


def test_bad_input_gets_a_clear_4xx(kb):
    assert kb.get("/api/v1/kb/search", params={"q": ""}).status_code == 422
    assert kb.get("/api/v1/kb/search", params={"q": "   "}).status_code == 422
    assert kb.get("/api/v1/kb/search", params={"q": "x", "k": 0}).status_code == 422
    assert kb.get("/api/v1/kb/search", params={"q": "x", "k": 21}).status_code == 422
    assert kb.get("/api/v1/kb/search").status_code == 422
    assert kb.post("/api/v1/kb/articles", json={"title": "x", "slug": "Bad Slug"}).status_code == 422
    assert kb.post("/api/v1/kb/articles", json={"title": "  "}).status_code == 422
    assert kb.post("/api/v1/kb/articles", json={"title": "x", "colour": "red"}).status_code == 422
    taken = kb.post("/api/v1/kb/articles", json={"title": "x", "slug": "shipping-times"})
    assert taken.status_code == 409 and "taken" in taken.json()["detail"]
    assert kb.patch("/api/v1/kb/articles/nope", json={"title": "x"}).status_code == 404
    assert kb.patch("/api/v1/kb/articles/shipping-times", json={"status": "gone"}).status_code == 422
    assert kb.delete("/api/v1/kb/articles/nope").status_code == 404
    assert kb.post("/api/v1/kb/preview", json={"question": ""}).status_code == 422
    assert kb.post("/api/v1/kb/import").status_code == 422


def test_the_article_page_renders_markdown_and_escapes_html(kb):
    body = "# Safe page\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2)) **bold** <img src=x>"
    article = {"title": "Safe <page>", "body": body, "status": "published"}
    kb.post("/api/v1/kb/articles", json=article).raise_for_status()
    page = kb.get("/kb/safe-page")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<strong>bold</strong>" in page.text and "<h1>Safe page</h1>" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'href="javascript:' not in page.text and "<img" not in page.text
    assert "Safe &lt;page&gt;" in page.text
    assert "script-src 'none'" in page.headers["content-security-policy"]


def test_only_admins_edit_and_only_staff_search(kb):
    agent = staff_headers(kb, "alex@northwind.example")
    anonymous = {"Authorization": ""}
    assert kb.get("/api/v1/kb/search", params={"q": "shipping"}, headers=anonymous).status_code == 401
    assert kb.get("/api/v1/kb/search", params={"q": "shipping"}, headers=agent).status_code == 200
    edit = {"body": NEW_BODY}
    assert kb.patch("/api/v1/kb/articles/late-delivery", json=edit, headers=anonymous).status_code == 401
    assert kb.patch("/api/v1/kb/articles/late-delivery", json=edit, headers=agent).status_code == 403
    assert kb.post("/api/v1/kb/index/rebuild", headers=agent).status_code == 403
    assert kb.patch("/api/v1/kb/articles/late-delivery", json=edit).status_code == 200
    audit = rows(
        kb.app.state.settings.database_url,
        "SELECT actor, action FROM audit_events WHERE action LIKE 'kb.%' ORDER BY id DESC LIMIT 1",
    )
    assert audit == [{"actor": ADMIN, "action": "kb.article.update"}]


def test_the_articles_sentences_are_encoded_off_the_request_path_at_start_and_after_a_rebuild(kb):
    index = kb.app.state.kb.index
    assert index.sentence_rerank  # the shipped shop decision reads the sentence features

    def warmed_within(seconds: float) -> bool:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if set(index.sentence_cache) == set(index.doc_versions):
                return True
            time.sleep(0.05)
        return False

    # Liveness bounds (torch encodes every article on a loaded machine), not speed targets.
    assert warmed_within(120.0)  # the start-up thread encodes every article's sentences
    assert kb.post("/api/v1/kb/index/rebuild").status_code == 200
    assert warmed_within(120.0)  # and again after a rebuild, which drops them
    assert search(kb, "what's the difference between basic and plus")["answerable"] is True


def test_closing_waits_for_the_warm_up_threads(kb_settings):
    with app_client(kb_settings) as client:
        warming = list(client.app.state.kb._warming)
        assert warming  # the model load and the sentence encoding run beside the app
    # An interpreter exiting while torch encodes in a daemon thread aborts; close() joined them first.
    assert not any(thread.is_alive() for thread in warming)
