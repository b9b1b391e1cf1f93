"""The audit log API: staff actions with who, what, when, before and after; filtered, paged, admins only."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.security.conftest import Callers

SLUG_LIST = "/api/v1/kb/articles"


def edit_an_article(client: TestClient, admin: dict[str, str], title: str) -> tuple[int, str]:
    article = client.get(SLUG_LIST, headers=admin).json()[0]
    response = client.patch(f"{SLUG_LIST}/{article['slug']}", json={"title": title}, headers=admin)
    assert response.status_code == 200, response.text
    return article["id"], article["title"]


def test_a_knowledge_edit_is_listed_with_who_when_before_and_after(app_client: TestClient, callers: Callers):
    admin = callers.headers["admin"]
    started = datetime.now(UTC) - timedelta(seconds=1)
    article_id, old_title = edit_an_article(app_client, admin, "Returns, refunds and exchanges (edited)")
    page = app_client.get("/api/v1/audit", params={"action": "kb.article.update"}, headers=admin).json()
    event = page["items"][0]
    assert event["actor"] == "admin@northwind.example"
    assert (event["entity_type"], event["entity_id"]) == ("kb_article", str(article_id))
    assert event["before"]["title"] == old_title
    assert event["after"]["title"] == "Returns, refunds and exchanges (edited)"
    assert datetime.fromisoformat(event["created_at"]) >= started
    assert "kb.article.update" in app_client.get("/api/v1/audit/actions", headers=admin).json()


def test_filters_narrow_the_log_and_pages_walk_it_newest_first(app_client: TestClient, callers: Callers):
    admin = callers.headers["admin"]
    for n in range(3):
        edit_an_article(app_client, admin, f"Paging title {n}")

    def page(**params: object) -> dict:
        response = app_client.get("/api/v1/audit", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    family = page(action="kb.*", limit=200)
    assert family["total"] >= 3 and all(e["action"].startswith("kb.") for e in family["items"])
    first, second = page(action="kb.*", limit=1), page(action="kb.*", limit=1, offset=1)
    assert first["total"] == family["total"] and len(first["items"]) == 1
    assert first["items"][0]["id"] > second["items"][0]["id"]  # newest first
    assert first["items"][0]["after"]["title"] == "Paging title 2"
    mine = page(actor="admin@northwind.example", entity_type="kb_article")
    assert mine["total"] >= 3 and {e["actor"] for e in mine["items"]} == {"admin@northwind.example"}
    assert page(actor="nobody@northwind.example")["total"] == 0
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert page(since=future)["total"] == 0 and page(until=future)["total"] >= 3
    # "_" and "%" are not wildcards: this names no action.
    assert page(action="kb_article.*")["total"] == 0 and page(action="%.*")["total"] == 0


def test_bad_filters_are_a_422_with_a_reason(app_client: TestClient, callers: Callers):
    admin = callers.headers["admin"]
    naive = app_client.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin)
    assert naive.status_code == 422 and "time zone" in naive.json()["detail"]
    assert app_client.get("/api/v1/audit", params={"limit": 0}, headers=admin).status_code == 422
    assert app_client.get("/api/v1/audit", params={"since": "yesterday"}, headers=admin).status_code == 422


def test_only_admins_read_the_audit_log(app_client: TestClient, callers: Callers):
    for role in ("agent", "supervisor"):
        refused = app_client.get("/api/v1/audit", headers=callers.headers[role])
        assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert app_client.get("/api/v1/audit").status_code == 401


def test_the_audit_page_is_served(app_client: TestClient):
    page = app_client.get("/admin/audit")
    assert page.status_code == 200 and "/static/audit.js" in page.text
