"""Agent assist's part of the app's life: the past-replies index and the weekly knowledge-gap job."""

from fastapi import FastAPI

from backend.assist.index import AssistIndex
from backend.core.background import Background, stop_all


class AssistRuntime:
    def __init__(self, app: FastAPI) -> None:
        self.index = AssistIndex(app.state.sessions, app.state.settings)
        self.loops: list[Background] = [self.index.loop]

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        await stop_all(self.loops)
