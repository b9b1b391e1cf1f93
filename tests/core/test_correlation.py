"""Correlation ids: the middleware takes a caller's valid X-Request-ID or makes one, every log record of the
request carries it, and it never leaks into the next request."""

import logging
import uuid

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from backend.core import correlation
from backend.core.correlation import CorrelationId, install_log_correlation, new_request_id, valid

log = logging.getLogger("backend.tests.correlation")


async def echo(request: Request) -> JSONResponse:
    log.warning("serving %s", request.url.path)
    response = JSONResponse({"seen": correlation.current(), "forwarded": correlation.request_id_headers()})
    if request.query_params.get("own"):  # an endpoint that sets the header itself: still one header out
        response.headers["X-Request-ID"] = "the-endpoint's"
    return response


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    connection = correlation.current()
    async for _ in websocket.iter_text():
        with new_request_id() as message_id:
            await websocket.send_json({"connection": connection, "message": message_id})


@pytest.fixture
def client() -> TestClient:
    install_log_correlation()
    app = Starlette(routes=[Route("/echo", echo), WebSocketRoute("/ws", socket)])
    return TestClient(CorrelationId(app))


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        ("a", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        (None, False),
        ("trace 1f/2:3~", True),
        ("tab\there", False),
        ("new\nline", False),
        ("caf\u00e9", False),
        ("del\x7f", False),
    ],
)
def test_valid_ids_are_printable_ascii_up_to_128(candidate, ok):
    assert valid(candidate) is ok


def test_a_valid_id_is_kept_echoed_and_seen_inside(client):
    response = client.get("/echo", headers={"X-Request-ID": "lb-4711"})
    assert response.headers["X-Request-ID"] == "lb-4711"
    assert response.json() == {"seen": "lb-4711", "forwarded": {"X-Request-ID": "lb-4711"}}


def test_without_an_id_one_is_made(client):
    response = client.get("/echo")
    made = response.headers["X-Request-ID"]
    assert is_uuid4(made) and response.json()["seen"] == made


@pytest.mark.parametrize("bad", [b"x" * 129, b"bad\x01id", "caf\u00e9".encode(), b""])
def test_a_bad_id_is_replaced(client, bad):
    response = client.get("/echo", headers=[(b"x-request-id", bad)])
    replaced = response.headers["X-Request-ID"]
    assert is_uuid4(replaced) and response.json()["seen"] == replaced


def test_each_request_gets_its_own_id_and_none_outlives_it(client):
    first = client.get("/echo").headers["X-Request-ID"]
    second = client.get("/echo").headers["X-Request-ID"]
    assert first != second
    assert correlation.current() is None and correlation.request_id_headers() == {}


def test_the_response_carries_one_id_even_if_the_endpoint_set_one(client):
    response = client.get("/echo", params={"own": "1"}, headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("X-Request-ID") == ["mine"]


def test_log_records_of_a_request_carry_its_id(client, caplog):
    with caplog.at_level(logging.WARNING, logger=log.name):
        client.get("/echo", headers={"X-Request-ID": "req-1"})
        client.get("/echo", headers={"X-Request-ID": "req-2"})
        log.warning("between requests")
    seen = [(record.getMessage(), record.request_id) for record in caplog.records]
    assert seen == [("serving /echo", "req-1"), ("serving /echo", "req-2"), ("between requests", "-")]


def test_the_log_format_names_the_id():
    install_log_correlation()
    record = logging.getLogger("backend.tests").makeRecord(
        "backend.tests", logging.WARNING, "f", 1, "hi", (), None
    )
    assert "[-] hi" in logging.Formatter(correlation.LOG_FORMAT).format(record)


def test_installing_twice_wraps_the_record_factory_once():
    install_log_correlation()
    factory = logging.getLogRecordFactory()
    install_log_correlation()
    assert logging.getLogRecordFactory() is factory


def test_a_websocket_gets_an_id_for_the_connection_and_one_per_message(client):
    with client.websocket_connect("/ws", headers={"X-Request-ID": "conn-9"}) as ws:
        assert (b"x-request-id", b"conn-9") in ws.extra_headers
        ws.send_text("one")
        first = ws.receive_json()
        ws.send_text("two")
        second = ws.receive_json()
    assert first["connection"] == second["connection"] == "conn-9"
    assert is_uuid4(first["message"]) and is_uuid4(second["message"])
    assert first["message"] != second["message"]


def test_new_request_id_restores_the_outer_one():
    with new_request_id("outer"):
        with new_request_id("\x00bad") as inner:
            assert is_uuid4(inner) and correlation.current() == inner
        assert correlation.current() == "outer"
    assert correlation.current() is None
