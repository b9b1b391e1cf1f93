"""Log lines: the JSON formatter shared by the backend and the Rasa side, the text format, the backend's own
handler when nothing else configured logging, and one request line per HTTP request under its id."""

import json
import logging
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from backend.core.correlation import CorrelationId
from backend.core.logging import RequestLog, configure_logging
from contract.observability import JsonFormatter, TextFormatter, formatter
from scripts.paths import ROOT


def record(
    message: str, *args: object, exc: bool = False, request_id: str | None = None, **extra: object
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    made = logging.getLogger("backend.tests").makeRecord(
        "backend.tests", logging.WARNING, "f.py", 7, message, args, exc_info, extra=extra or None
    )
    # As the record factory does (once installed by an app built earlier in this process), or not at all.
    if request_id is not None:
        made.request_id = request_id
    elif hasattr(made, "request_id"):
        del made.request_id
    return made


def test_a_json_line_has_the_fields_a_shipper_indexes():
    made = record("order %s not found", "ORD-1", request_id="req-42")
    line = JsonFormatter().format(made)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "order ORD-1 not found"
    assert (parsed["level"], parsed["logger"], parsed["request_id"]) == ("WARNING", "backend.tests", "req-42")
    assert parsed["time"].endswith("+00:00") and "T" in parsed["time"]
    assert "exception" not in parsed and "args" not in parsed and "msg" not in parsed


def test_extras_become_fields_and_values_that_are_no_json_their_text():
    parsed = json.loads(JsonFormatter().format(record("done", route="/x/{id}", status=200, where=ROOT)))
    assert (parsed["route"], parsed["status"], parsed["where"]) == ("/x/{id}", 200, str(ROOT))
    assert parsed["request_id"] == "-"  # a record made without any id
    # uvicorn's copy of the message with terminal colours is no field of a shipped line
    assert "color_message" not in json.loads(JsonFormatter().format(record("up", color_message="\x1b[1mup")))


def test_an_exception_and_a_multi_line_message_stay_in_one_line():
    line = JsonFormatter().format(record("first\nsecond", exc=True))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "first\nsecond"
    assert parsed["exception"].startswith("Traceback") and "ValueError: boom" in parsed["exception"]


def test_text_lines_name_the_id_or_a_dash():
    assert "WARNING backend.tests [req-1] hi" in TextFormatter().format(record("hi", request_id="req-1"))
    assert "[-] hi" in TextFormatter().format(record("hi"))


def test_an_unknown_format_is_refused():
    assert isinstance(formatter("json"), JsonFormatter) and isinstance(formatter("text"), TextFormatter)
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        formatter("xml")


async def order(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", status_code=201)


async def broken(request: Request) -> PlainTextResponse:
    raise RuntimeError("handler failed")


@pytest.fixture
def client() -> TestClient:
    configure_logging("text")
    routes = [Route("/orders/{order_id}", order), Route("/health", order), Route("/broken", broken)]
    return TestClient(CorrelationId(RequestLog(Starlette(routes=routes))), raise_server_exceptions=False)


def test_each_request_logs_one_line_with_its_route_status_and_id(client, caplog):
    caplog.set_level(logging.INFO, logger="backend.requests")
    client.get("/orders/ORD-123456", headers={"X-Request-ID": "req-7"})
    client.get("/broken", headers={"X-Request-ID": "req-8"})
    client.get("/health")  # probes are not logged
    lines = [(r.getMessage().split(" in ")[0], r.request_id, r.route, r.status) for r in caplog.records]
    assert lines == [
        ("GET /orders/{order_id} 201", "req-7", "/orders/{order_id}", 201),  # the template, not the id
        ("GET /broken 500", "req-8", "/broken", 500),
    ]
    assert all(isinstance(r.duration_ms, float) for r in caplog.records)


CONFIGURED_ALONE = """
import logging
from backend.core.correlation import new_request_id
from backend.core.logging import configure_logging
configure_logging({fmt!r})
configure_logging({fmt!r})  # a second app in the same process: still one handler
with new_request_id("msg-1"):
    logging.getLogger("backend.kb").info("index ready")
logging.getLogger("backend.kb").debug("not shown")
logging.getLogger("somelibrary").info("not ours: not shown")
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_without_other_configuration_the_backend_prints_info_lines(fmt):
    # A process of its own: pytest's handlers on the root logger would make configure_logging stand back.
    done = subprocess.run(
        [sys.executable, "-c", CONFIGURED_ALONE.format(fmt=fmt)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    if fmt == "json":
        parsed = json.loads(lines[0])
        assert (parsed["message"], parsed["request_id"], parsed["level"]) == ("index ready", "msg-1", "INFO")
    else:
        assert lines[0].endswith("INFO backend.kb [msg-1] index ready")


UNDER_UVICORN = """
import copy, logging, logging.config
from uvicorn.config import LOGGING_CONFIG
from backend.core.logging import configure_logging
config = copy.deepcopy(LOGGING_CONFIG)
if {deployer!r}:  # `uvicorn --log-config`: the deployer's own access format
    config["formatters"]["access"] = {{"format": "deployer: %(message)s"}}
logging.config.dictConfig(config)  # what uvicorn does before it builds the app
configure_logging("json")
logging.getLogger("uvicorn.error").info("Application startup complete.")
logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/x", "1.1", 200)
"""


@pytest.mark.parametrize("deployer", [False, True])
def test_json_reaches_uvicorns_own_lines_but_not_a_deployers_format(deployer):
    done = subprocess.run(
        [sys.executable, "-c", UNDER_UVICORN.format(deployer=deployer)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = (done.stdout + done.stderr).splitlines()
    parsed = {(p["logger"], p["message"]) for p in (json.loads(x) for x in lines if x.startswith("{"))}
    access = ("uvicorn.access", '127.0.0.1:5 - "GET /x HTTP/1.1" 200')
    assert ("uvicorn.error", "Application startup complete.") in parsed
    assert (access in parsed) is not deployer
    assert ('deployer: 127.0.0.1:5 - "GET /x HTTP/1.1" 200' in lines) is deployer
