"""`context-manager-call`: a websocket manager reached through the run context and used to send."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional
from unittest.mock import AsyncMock, MagicMock

from app.websocket.core import WebSocketManager
from app.websocket.factory import get_websocket_manager

logger = logging.getLogger(__name__)


@dataclass
class ExecutionContext:
    user_id: str
    thread_id: str
    websocket_manager: Optional[WebSocketManager] = None  # silent: a field declaration
    websocket_bridge: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)


class BaseExecutor:
    def __init__(self, adapter, context: ExecutionContext | None = None) -> None:
        self._websocket_adapter = adapter
        self.context = context
        self._forwarded: Any = None

    def attach(self, context: ExecutionContext, manager: WebSocketManager) -> None:
        context.websocket_manager = manager  # silent: setting it, not sending through it

    def has_socket(self, context: ExecutionContext) -> bool:
        if hasattr(context, "websocket_manager"):  # silent: a presence check
            return getattr(context, "websocket_manager", None) is not None
        return False

    async def run_tool_step(self, context: ExecutionContext, tool: str, args: dict[str, Any]) -> None:
        if context.websocket_manager:  # silent: the guard only tests it
            await context.websocket_manager.send_tool_executing(context.user_id, tool, args)  # expect: context-manager-call

    async def think(self, context: ExecutionContext, thought: str) -> None:
        if self.context is not None and self.context.websocket_manager is not None:
            await self.context.websocket_manager.send_agent_thinking(context.user_id, thought)  # expect: context-manager-call

    async def answer(self, context: ExecutionContext, answer: str) -> str:
        ws_manager = context.websocket_manager  # expect: context-manager-call
        if ws_manager is None:
            return answer
        await ws_manager.send_to_user(context.user_id, {"type": "agent_response", "content": answer})
        return answer

    async def finish(self, context: ExecutionContext, summary: str) -> None:
        if (manager := context.websocket_manager) is not None:  # expect: context-manager-call
            await manager.send_agent_completed(context.user_id, final_response=summary, success=True)
        if context.websocket_bridge is not None:
            context.websocket_bridge.emit_agent_completed(summary)  # expect: context-manager-call

    async def report_progress(self, done: int, total: int) -> None:
        if self.context is None:
            return
        await (
            self.context  # expect: context-manager-call
            .websocket_manager
            .send_to_thread(self.context.thread_id, {"type": "agent_thinking", "thought": f"{done}/{total} steps"})
        )

    async def execute(self, context: ExecutionContext) -> None:
        if not context.websocket_manager:
            logger.info("no socket for %s, running headless", context.user_id)
        self.forward(context.websocket_manager)  # silent: passing it along

    def forward(self, manager: WebSocketManager | None) -> None:
        self._forwarded = manager

    def connections(self, context: ExecutionContext) -> int:
        return context.websocket_manager.connection_count()  # silent: not a sending method

    async def think_canonically(self, thought: str) -> None:
        await self._websocket_adapter.emit_agent_thinking(thought)  # silent: the canonical adapter

    async def per_user(self, context: ExecutionContext, answer: str) -> None:
        manager = get_websocket_manager(context)  # silent: the per-user factory, nothing reached through the context
        await manager.send_to_user(context.user_id, {"content": answer})


async def notify_done(websocket_manager: WebSocketManager, user_id: str) -> None:
    await websocket_manager.send_to_user(user_id, {"status": "done"})  # silent: passed down, not reached through a context


async def test_answer_goes_to_the_socket() -> None:
    context = ExecutionContext(user_id="dave", thread_id="thread-4", websocket_manager=MagicMock())
    context.websocket_manager.send_to_user = AsyncMock()  # silent: setting up a mock
    await BaseExecutor(adapter=None).answer(context, "Done.")
    context.websocket_manager.send_to_user.assert_awaited_once_with("dave", {"content": "Done."})  # silent: a mock assertion


# Seen in real code: a class's own injected manager streaming log lines — no agent event.
class RunLogger:
    def __init__(self, websocket_manager, session_id: str) -> None:
        self.websocket_manager = websocket_manager
        self.session_id = session_id

    async def log(self, message: str) -> None:
        # silent: a `log` frame is no agent event, and `send_message` names none
        await self.websocket_manager.send_message(self.session_id, {"type": "log", "message": message})

    async def started(self, agent_name: str) -> None:
        await self.websocket_manager.send_message(self.session_id, {"type": "agent_started", "agent_name": agent_name})  # expect: context-manager-call


# Seen in real code: the manager two hops away, and behind `getattr`.
async def send_started(context, agent_name: str) -> None:
    if hasattr(context, "websocket_bridge") and context.websocket_bridge:
        websocket_manager = context.websocket_bridge.websocket_manager  # expect: context-manager-call
        if websocket_manager:
            await websocket_manager.send_agent_started(context.run_id, agent_name, {})


class Coordinator:
    async def relay_thought(self, thought: str) -> None:
        manager = getattr(self.supervisor, "websocket_manager", None)  # expect: context-manager-call
        if manager:
            await manager.send_agent_thinking(self.user_id, thought)

    def has_socket(self) -> bool:
        return getattr(self.supervisor, "websocket_manager", None) is not None  # silent: a presence test
