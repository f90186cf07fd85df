"""`user-emitter-call`: calls of the legacy per-user emitter's `notify_*` methods."""

import asyncio
import logging
from typing import Any
from unittest.mock import AsyncMock

from app.websocket.user_emitter import UserEmitter

logger = logging.getLogger(__name__)


class ToolExecutor:
    def __init__(self, adapter, registry: dict[str, Any], user_emitter: UserEmitter) -> None:
        self._websocket_adapter = adapter
        self.registry = registry
        self.user_emitter = user_emitter
        self._idle = asyncio.Condition()

    async def execute(self, tool_name: str, params: dict[str, Any]) -> Any:
        await self.user_emitter.notify_tool_executing(tool_name, params)  # expect: user-emitter-call
        tool = self.registry.get(tool_name)
        if tool is None:
            await self.user_emitter.notify_agent_error(f"unknown tool {tool_name}")  # expect: user-emitter-call
            return None
        result = await tool(**params)
        await self.user_emitter.notify_tool_completed(tool_name, result)  # expect: user-emitter-call
        async with self._idle:
            self._idle.notify_all()  # silent: `asyncio.Condition`, not an emitter
        return result

    async def explain(self, sql: str) -> None:
        await self._websocket_adapter.emit_agent_thinking(f"Running: {sql}")  # silent: the canonical adapter
        await self.user_emitter.notify_agent_thinking(sql)  # agent-events: allow(user-emitter-call) -- silent: suppressed until v2.4

    async def cancel(self, name: str) -> None:
        # agent-events: allow(user-emitter-call) -- silent: suppressed, the cancel button still reads these frames
        await self.user_emitter.notify_tool_completed(name, {"cancelled": True}, success=False)

    async def run_detached(self, tool_name: str, params: dict[str, Any]) -> "asyncio.Task[None]":
        # known miss: the method is taken as a value and called under another name
        report = self.user_emitter.notify_tool_completed

        async def finish() -> None:
            result = await self.registry[tool_name](**params)
            await report(tool_name, result)

        return asyncio.create_task(finish())

    async def joined(self) -> None:
        await self.user_emitter.notify_user_joined()  # silent: a presence frame, not in the list


class RecordingEmitter:
    """A test double; defining the methods is not calling them."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def notify_agent_started(self, agent_name: str) -> None:  # silent: a definition
        self.seen.append(f"notify_agent_started {agent_name}")  # silent: an f-string


async def test_executor_reports_the_tool_pair() -> None:
    emitter = AsyncMock(spec=UserEmitter)
    executor = ToolExecutor(None, {"search": AsyncMock(return_value=["hit"])}, emitter)
    assert await executor.execute("search", {"q": "rust"}) == ["hit"]
    emitter.notify_tool_executing.assert_awaited_once()  # silent: a mock assertion
    emitter.notify_tool_completed.assert_awaited_once_with("search", ["hit"])  # silent: the same
    logger.info("notify_tool_executing and notify_tool_completed were awaited")  # silent: a log message


async def test_user_emitter_sends_the_pair(notifier) -> None:
    emitter = UserEmitter(notifier, "thread-1")
    await emitter.notify_tool_executing("search", {"q": "rust"})  # expect: user-emitter-call
    await emitter.notify_tool_completed("search", ["hit"])  # expect: user-emitter-call
