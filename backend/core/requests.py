"""One ASGI wrapper that sees each HTTP request's final status and duration, for the metrics and the log."""

import time
from abc import ABC, abstractmethod

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseObserver(ABC):
    """Calls `observe` once per HTTP request, when its response is complete or it failed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @abstractmethod
    def observe(self, scope: Scope, status: int, seconds: float) -> None: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any response: the server error handler answers 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.observe(scope, status, time.perf_counter() - started)
