"""Bad input gets a 4xx (or an error/close frame) with a clear reason, and nothing is stored or crashes."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.auth.sockets import subprotocols
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.dbcheck import rows


def post_raw(client: TestClient, widget, content: bytes | str, content_type: str = "application/json"):
    return client.post(
        f"/api/v1/widget/conversations/{widget['conversation_id']}/messages",
        content=content,
        headers={"Authorization": widget["auth"], "Content-Type": content_type},
    )


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ('{"text": ""}', 422, "must not be empty"),
        ('{"text": "   "}', 422, "must not be empty"),
        ('{"text": "' + "x" * 2001 + '"}', 422, "the limit is 2000"),
        ('{"text": 123}', 422, "valid string"),
        ('{"text": ["a"]}', 422, "valid string"),
        ('{"txt": "hello"}', 422, "Field required"),
        ('{"text": "hi", "client_message_id": "has spaces"}', 422, "pattern"),
        ('{"text": "hi", "extra": 1}', 422, "Extra inputs"),
        ("{not json", 422, "JSON decode error"),
        ("", 422, "Field required"),
    ],
)
def test_invalid_messages_are_refused_with_a_reason(client, widget, database_url, body, status, reason):
    response = post_raw(client, widget, body)
    assert response.status_code == status
    assert reason in response.text
    assert (
        rows(database_url, "SELECT id FROM messages WHERE conversation_id = :c", c=widget["conversation_id"])
        == []
    )


def test_a_100_kb_body_is_refused_before_parsing(client, widget, database_url):
    response = post_raw(client, widget, '{"text": "' + "x" * 100_000 + '"}')
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert rows(database_url, "SELECT id FROM messages") == []


def test_widget_routes_need_the_conversation_token(client, widget):
    url = f"/api/v1/widget/conversations/{widget['conversation_id']}/messages"
    assert client.post(url, json={"text": "hi"}).status_code == 401
    assert client.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    other = client.post("/api/v1/widget/sessions", json={}).json()
    response = client.post(url, json={"text": "hi"}, headers={"Authorization": f"Bearer {other['token']}"})
    assert response.status_code == 403 and "another conversation" in response.text


def test_service_routes_need_the_service_token(client):
    assert client.get("/api/v1/service/orders/ORD-100001").status_code == 401
    bad = client.get("/api/v1/service/orders/ORD-100001", headers={"X-Service-Token": "wrong"})
    assert bad.status_code == 401


def test_session_with_a_malformed_email_is_refused(client):
    response = client.post("/api/v1/widget/sessions", json={"customer_email": "not-an-email"})
    assert response.status_code == 422 and "email" in response.text


@pytest.mark.parametrize("claimed", [None, "0" * 64, "not-hex"])
def test_nobody_can_claim_a_customer_without_the_host_sites_signature(client, database_url, claimed):
    body = {"customer_email": "demo@northwind.example", "customer_hash": claimed}
    response = client.post("/api/v1/widget/sessions", json=body)
    assert response.status_code == 403 and "does not verify" in response.json()["detail"]
    assert rows(database_url, "SELECT id FROM conversations") == []


def widget_socket(client: TestClient, widget):
    return client.websocket_connect("/ws/widget", subprotocols=subprotocols(widget["token"]))


def test_websocket_reports_bad_frames_and_stays_open(client, widget, database_url):
    with widget_socket(client, widget) as ws:
        ws.send_text("{not json")
        assert ws.receive_json() == {
            "type": "error",
            "code": "invalid_json",
            "detail": ws_error_detail("{not json"),
        }
        ws.send_json({"type": "message", "text": 42})
        error = ws.receive_json()
        assert error["code"] == "invalid_message" and "text" in error["detail"]
        ws.send_json({"type": "message", "text": ""})
        assert "must not be empty" in ws.receive_json()["detail"]
        ws.send_json({"type": "typing"})
        assert ws.receive_json()["code"] == "invalid_message"
        # Still open: a good message now goes through.
        ws.send_json({"type": "message", "text": "hello", "client_message_id": "m1"})
        frames = [ws.receive_json() for _ in range(4)]
    kinds = [f["type"] for f in frames]
    assert kinds.count("message") == 3 and kinds[-1] == "ack"
    assert rows(database_url, "SELECT text FROM messages WHERE sender = 'customer'") == [{"text": "hello"}]


def ws_error_detail(raw: str) -> str:
    import json

    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"frame is not JSON: {exc.msg}"
    raise AssertionError("valid JSON")


def test_websocket_closes_on_a_100_kb_frame_with_the_reason(client, widget, database_url):
    with widget_socket(client, widget) as ws:
        ws.send_text('{"type": "message", "text": "' + "x" * 100_000 + '"}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1009 and "larger than" in closed.value.reason
    assert rows(database_url, "SELECT id FROM messages") == []


def test_websocket_refuses_a_bad_token(client):
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/widget", subprotocols=subprotocols("forged")) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008 and "invalid widget token" in closed.value.reason


# ----- strings no database can store alike: lone surrogates and NUL (backend/core/text.py) ------------------

# JSON string literals, sent as written: a client library would refuse to encode a lone surrogate itself.
BAD_TEXTS = [
    pytest.param(r'"\ud800"', "lone surrogate U+D800 at position 0", id="lone-surrogate"),
    pytest.param(r'"ok \udfff then"', "lone surrogate U+DFFF at position 3", id="low-surrogate"),
    pytest.param(r'"pair reversed \ude00\ud83d"', "lone surrogate U+DE00 at position 14", id="reversed-pair"),
    pytest.param(r'"nul \u0000 inside"', "NUL characters (U+0000, first at position 4)", id="nul"),
]
# Strange but valid: stored and answered exactly as sent, on both databases. (No leading or trailing
# whitespace: a customer message is stripped.)
ODD_TEXTS = [
    "emoji \U0001f600 and an astral \U0010fffd",
    "right-to-left \u202eoverride\u202c and a zero\u200bwidth space",
    "controls \x01\x07\x1b[31m and DEL \x7f",
    "non-characters \ufffe \uffff, BOM \ufeff inside",
    "line\u2028separator, tab\tand\r\nnewlines",
    "combining e\u0301 vs \u00e9, \u4e2d\u6587, \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
]


@pytest.mark.parametrize(("literal", "problem"), BAD_TEXTS)
def test_a_message_that_no_database_can_store_is_a_422_naming_the_problem(
    client, widget, database_url, literal, problem
):
    for body in ('{"text": ' + literal + "}", '{"text": "hi", "client_message_id": ' + literal + "}"):
        response = post_raw(client, widget, body)
        assert response.status_code == 422, response.text
        assert problem in response.text
    assert rows(database_url, "SELECT id FROM messages") == []


def test_raw_surrogate_bytes_in_the_body_are_a_422_too(client, widget, database_url):
    # ED A0 80 is U+D800 encoded as if it were a character: not UTF-8, yet Python's JSON decoder lets it in.
    response = post_raw(client, widget, b'{"text": "raw \xed\xa0\x80 bytes"}')
    assert response.status_code == 422 and "lone surrogate U+D800 at position 4" in response.text
    assert "raw \\\\ud800 bytes" in response.text  # the refused input is quoted back printable
    assert rows(database_url, "SELECT id FROM messages") == []


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_but_valid_text_is_stored_intact(client, widget, database_url, text):
    response = post_raw(client, widget, json.dumps({"text": text}))
    assert response.status_code == 200, response.text
    assert response.json()["message"]["text"] == text
    assert rows(database_url, "SELECT text FROM messages WHERE sender = 'customer'") == [{"text": text}]


def test_an_escaped_surrogate_pair_is_one_character_and_stored(client, widget, database_url):
    response = post_raw(client, widget, r'{"text": "a pair \ud83d\ude00 escaped"}')
    assert response.status_code == 200 and response.json()["message"]["text"] == "a pair \U0001f600 escaped"
    assert rows(database_url, "SELECT text FROM messages")[0] == {"text": "a pair \U0001f600 escaped"}


@pytest.mark.parametrize(("literal", "problem"), BAD_TEXTS)
def test_websocket_refuses_such_text_with_an_error_frame_and_stays_open(
    client, widget, database_url, literal, problem
):
    with widget_socket(client, widget) as ws:
        ws.send_text('{"type": "message", "text": ' + literal + ', "client_message_id": "b1"}')
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_message"
        assert problem in error["detail"]
        ws.send_json({"type": "message", "text": ODD_TEXTS[0], "client_message_id": "g1"})
        frames = [ws.receive_json() for _ in range(4)]
    assert frames[-1]["type"] == "ack"
    stored = rows(database_url, "SELECT text FROM messages WHERE sender = 'customer'")
    assert stored == [{"text": ODD_TEXTS[0]}]


def test_websocket_refuses_a_binary_frame_and_stays_open(client, widget):
    with widget_socket(client, widget) as ws:
        ws.send_bytes(b'{"type": "message", "text": "hi", "client_message_id": "b1"}')
        error = ws.receive_json()
        assert error["code"] == "invalid_json" and "text frame" in error["detail"]
        ws.send_json({"type": "message", "text": "hi", "client_message_id": "t1"})
        assert [ws.receive_json() for _ in range(4)][-1]["type"] == "ack"


# ----- every text input of every operation, from the live OpenAPI schema --------------------------------


@dataclass(frozen=True)
class TextInput:
    """One string a request carries: a path, query or header parameter, or a field of a JSON or form body."""

    method: str
    path: str
    audience: str
    where: str  # path, query, header, json, form
    loc: tuple[str | int, ...]  # where FastAPI reports its validation error
    free: bool  # free text (no enum, no format): the Text validator's own error is expected

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {'.'.join(map(str, self.loc))}"


def text_inputs(schema: dict[str, Any]) -> list[TextInput]:
    components = schema["components"]["schemas"]

    def strings(node: dict[str, Any], loc: tuple[str | int, ...], seen: frozenset[str]) -> Iterator[Any]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                yield from strings(components[name], loc, seen | {name})
            return
        for branch in node.get("anyOf", []) + node.get("allOf", []):
            yield from strings(branch, loc, seen)
        binary = "contentMediaType" in node or node.get("format") == "binary"
        if node.get("type") == "string" and not binary:
            yield loc, "enum" not in node and node.get("format") in (None, "password")
        elif node.get("type") == "object":
            for name, sub in node.get("properties", {}).items():
                yield from strings(sub, (*loc, name), seen)
        elif node.get("type") == "array":
            yield from strings(node.get("items", {}), (*loc, 0), seen)

    found = []
    for path, operations in schema["paths"].items():
        for method, spec in operations.items():
            places = [(p["in"], p["schema"], (p["in"], p["name"])) for p in spec.get("parameters", [])] + [
                ("json" if media == "application/json" else "form", content["schema"], ("body",))
                for media, content in spec.get("requestBody", {}).get("content", {}).items()
            ]
            for where, node, start in places:
                for loc, free in strings(node, start, frozenset()):
                    audience = spec.get("x-audience", "public")
                    found.append(TextInput(method, path, audience, where, loc, free))
    return found


def poisoned_request(client: TestClient, field: TextInput, bad: str, ids: dict[str, str]) -> Any:
    """A request with `bad` in that one input; the others valid where required, or left out."""
    path = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "1"), field.path)
    query: dict[str, str] = {}
    if field.where == "path":
        path = path.replace(f"/{ids.get(field.loc[1], '1')}", "/" + quote(bad), 1)
    elif field.where == "query":
        query[str(field.loc[1])] = bad
    kwargs: dict[str, Any] = {"params": query, "headers": ids["headers"]}
    if field.where == "header":  # no server would pass a NUL on (h11 refuses it); the test client does
        kwargs["headers"] = {**ids["headers"], str(field.loc[1]): bad}
    if field.where == "json":
        body: Any = bad
        for key in reversed(field.loc[1:]):
            body = [body] if isinstance(key, int) else {key: body}
        kwargs["content"] = json.dumps(body)  # ASCII: a lone surrogate travels as its \\u escape
        kwargs["headers"] = {**ids["headers"], "Content-Type": "application/json"}
    elif field.where == "form":
        kwargs["data"] = {str(field.loc[1]): bad}
    return client.request(field.method, path, **kwargs)


def test_every_text_input_refuses_nul_and_lone_surrogates(client, widget, database_url):
    """A 422 naming the input, from the one Text validator, for every string any operation takes, on
    SQLite and PostgreSQL (NUL would be stored by one and refused by the other); nothing is stored."""
    schema = client.get("/openapi.json").json()
    fields = text_inputs(schema)
    assert len(fields) >= 30 and {f.where for f in fields} == {"path", "query", "header", "json", "form"}
    headers = {
        "public": {},
        "widget": {"Authorization": widget["auth"]},
        "service": SERVICE_HEADERS,
        **dict.fromkeys(("agent", "supervisor", "admin"), staff_headers(client, "admin@northwind.example")),
    }
    before = rows(database_url, "SELECT count(*) AS n FROM messages")
    wrong = []
    for field in fields:
        ids = {"conversation_id": widget["conversation_id"], "headers": headers[field.audience]}
        # A URL or a form cannot carry a lone surrogate (percent-decoding replaces it); JSON can.
        for bad in ("a\x00b", "a\ud800b") if field.where == "json" else ("a\x00b",):
            response = poisoned_request(client, field, bad, ids)
            detail = response.json().get("detail") if response.status_code == 422 else None
            here = [e for e in detail if tuple(e["loc"]) == field.loc] if isinstance(detail, list) else []
            expected = {"text_nul", "text_surrogate"} if field.free else None
            if not here or (expected and here[0]["type"] not in expected):
                wrong.append(f"{field} with {bad!r}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert rows(database_url, "SELECT count(*) AS n FROM messages") == before
