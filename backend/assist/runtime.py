"""Agent assist's part of the app's life: the past-replies index and the weekly knowledge-gap job."""

from fastapi import FastAPI

from backend.assist import gaps
from backend.assist.index import AssistIndex
from backend.core.background import Background, Periodic, stop_all


class AssistRuntime:
    def __init__(self, app: FastAPI) -> None:
        self.index = AssistIndex(app.state.sessions, app.state.settings)
        sessions, settings = app.state.sessions, app.state.settings
        # Weekly by default; the first round comes one interval after start (an admin can run it at once).
        self.gaps = Periodic(
            "assist-knowledge-gaps", lambda: gaps.run(sessions, settings), settings.assist_gap_interval_s
        )
        self.loops: list[Background] = [self.index.loop, self.gaps]

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    async def stop(self) -> None:
        await stop_all(self.loops)
