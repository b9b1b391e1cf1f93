"""Staff sign in with the OAuth2 password flow; staff routes refuse anyone else."""

import pytest

from tests.app_fixtures import staff_headers

STAFF_ROUTES = ["/api/v1/conversations", "/api/v1/customers", "/api/v1/cases", "/api/v1/agents"]


def test_sign_in_returns_a_token_that_names_the_agent(client):
    response = client.post(
        "/api/v1/auth/token", data={"username": "Priya@Northwind.example", "password": "northwind-demo"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["agent"]["email"] == "priya@northwind.example"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == "Priya Shah"


@pytest.mark.parametrize(
    ("username", "password"), [("alex@northwind.example", "wrong"), ("nobody@x.io", "northwind-demo")]
)
def test_wrong_credentials_are_refused_without_saying_which_part(client, username, password):
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401 and response.json()["detail"] == "wrong email or password"


def test_sign_in_with_missing_fields_is_a_422(client):
    assert client.post("/api/v1/auth/token", data={"username": "alex@northwind.example"}).status_code == 422


@pytest.mark.parametrize("route", STAFF_ROUTES)
def test_staff_routes_need_a_staff_token(client, widget, route):
    assert client.get(route).status_code == 401
    # A widget token is no staff token.
    assert client.get(route, headers={"Authorization": widget["auth"]}).status_code == 401
    assert client.get(route, headers=staff_headers(client)).status_code == 200
