"""`competing-emitter`: classes that define their own agent-event emission methods."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol


class AgentEventEmitter(Protocol):
    async def emit_agent_started(self, agent_name: str) -> None: ...  # expect: competing-emitter

    async def emit_tool_executing(self, tool_name: str, params: dict[str, Any]) -> None: ...


class WebSocketNotifier:
    def __init__(self, manager, user_id: str) -> None:  # silent: not an emission method
        self.manager = manager
        self.user_id = user_id

    async def send_heartbeat(self) -> None:  # silent: `heartbeat` is not an event type
        await self.manager.send_to_user(self.user_id, {"type": "heartbeat"})

    async def send_agent_started(self, agent_name: str) -> None:  # expect: competing-emitter
        await self.manager.send_to_user(self.user_id, {"agent_name": agent_name})

    async def send_tool_completed(self, tool_name: str, results: Any) -> None:  # silent: one finding per class and file
        await self.manager.send_to_user(self.user_id, {"tool_name": tool_name, "results": results})


class UserEmitter:
    def __init__(self, notifier: WebSocketNotifier) -> None:
        self._notifier = notifier

    async def notify_user_joined(self) -> None:  # silent: `user_joined` is not an event type
        await self._notifier.manager.send_to_user(self._notifier.user_id, {"type": "presence"})

    async def notify_agent_error(self, error: str) -> None:  # expect: competing-emitter
        await self._notifier.manager.send_to_user(self._notifier.user_id, {"error": error})


class ReplayQueue[E]:
    """Hands buffered frames back to the socket, oldest first."""

    def __init__(self, sink: Callable[[E], None]) -> None:
        self._sink = sink

    def send_agent_response(self, frame: E) -> None:  # expect: competing-emitter
        self._sink(frame)


class ChatChannel:
    """Plain chat messages between users; not agent events."""

    def __init__(self, manager) -> None:
        self.manager = manager
        self._cond = asyncio.Condition()

    async def send_message(self, user_id: str, text: str) -> None:  # silent: `message` is not an event type
        await self.manager.send_to_user(user_id, {"type": "message", "text": text})
        async with self._cond:
            self._cond.notify_all()


class ProgressReporter:
    def __init__(self, adapter) -> None:
        self._websocket_adapter = adapter

    async def report(self, thought: str) -> None:  # silent: reports through the canonical adapter
        await self._websocket_adapter.emit_agent_thinking(thought)


async def send_agent_started(manager, user_id: str) -> None:  # silent: a module-level function, not a class
    await manager.send_to_user(user_id, {"agent_name": "data_agent"})


# Seen in real code: a chat client sending what the user typed.
class ChatClient:
    async def send_user_message(self, text: str) -> None:  # silent: what clients send
        await self.socket.send(text)
