"""The agent inbox's live feed: cases offered to this agent, removals, and customer messages in their cases.

Connect offering the subprotocols "supportdesk" and "bearer.<staff token>" (never a token in the URL:
backend/auth/sockets.py). Supervisors and admins also receive SLA-breach alerts.
Frames are server-to-client only; anything the client sends is ignored (actions go through the REST API).
An agent closing the inbox ends the handler quietly: a normal disconnect is not an error.
"""

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, status

from backend.agents.models import Agent
from backend.auth.policy import audience
from backend.auth.sockets import CLOSED, PROTOCOL, offered_token
from backend.auth.tokens import InvalidToken, agent_of_staff_token
from backend.conversations.notifier import SUPERVISORS, Notifier, agent_topic

router = APIRouter()


@router.websocket("/ws/agent")
@audience("agent")  # any signed-in staff member; checked below before the socket is accepted
async def agent_socket(websocket: WebSocket) -> None:
    agent = await _agent_of(websocket)
    if agent is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in as staff first")
        return
    await websocket.accept(subprotocol=PROTOCOL)
    notifier: Notifier = websocket.app.state.notifier
    topics = [agent_topic(agent.id)] + ([SUPERVISORS] if agent.role != "agent" else [])
    async with contextlib.AsyncExitStack() as stack:
        queues = [await stack.enter_async_context(notifier.subscribe(t)) for t in topics]
        forwarders = [asyncio.create_task(_forward(websocket, q)) for q in queues]
        try:
            while True:
                await websocket.receive_text()
        except CLOSED:  # the inbox was closed or the connection dropped: a normal end
            pass
        finally:
            for task in forwarders:
                task.cancel()
            # Awaited, so a forwarder that ended on a send to the closed socket is not reported later as
            # "Task exception was never retrieved".
            for task in forwarders:
                with contextlib.suppress(asyncio.CancelledError, *CLOSED):
                    await task


async def _agent_of(websocket: WebSocket) -> Agent | None:
    try:
        agent_id = agent_of_staff_token(offered_token(websocket), websocket.app.state.settings.secret_key)
    except InvalidToken:
        return None
    async with websocket.app.state.sessions() as session:
        return await session.get(Agent, agent_id)


async def _forward(websocket: WebSocket, events: asyncio.Queue[dict[str, object]]) -> None:
    while True:
        await websocket.send_json(await events.get())
