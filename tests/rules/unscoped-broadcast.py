"""`unscoped-broadcast`: agent events sent to every connected user."""

import logging
from typing import Any
from unittest.mock import AsyncMock

from app.websocket.core import WebSocketManager

logger = logging.getLogger(__name__)


async def announce_job_finished(manager: WebSocketManager, job_name: str, rows: int) -> None:
    await manager.broadcast(  # expect: unscoped-broadcast
        {"type": "agent_completed", "final_response": f"{job_name}: {rows} rows", "success": True}
    )


async def publish_refresh(manager: WebSocketManager, table: str) -> None:
    event = {"type": "agent_completed", "final_response": f"{table} refreshed", "success": True}
    logger.info("refresh of %s published", table)
    await manager.broadcast_to_all(event)  # expect: unscoped-broadcast


async def start_scheduled(manager: WebSocketManager, job_name: str) -> int:
    return await (
        manager
        .broadcast_event("agent_started", {"agent_name": job_name})  # expect: unscoped-broadcast
    )


async def mirror_thought(manager: WebSocketManager, thought: str) -> None:
    await manager.send_to_all(dict(event="agent_thinking", thought=thought))  # expect: unscoped-broadcast


async def announce_maintenance(manager: WebSocketManager, minutes: int) -> None:
    notice = {"type": "maintenance", "minutes": minutes}
    await manager.broadcast(notice)  # silent: a maintenance notice, not an agent event
    await manager.broadcast({"type": "server_shutdown", "in_seconds": minutes * 60})  # silent: the same


async def relay(manager: WebSocketManager, message: dict[str, Any]) -> int:
    return await manager.broadcast(message)  # silent: what `message` holds is not known here


async def reply(manager: WebSocketManager, user_id: str, text: str) -> None:
    await manager.send_to_user(user_id, {"type": "agent_response", "content": text})  # silent: sent to one user


async def finish(adapter, manager: WebSocketManager, answer: str) -> None:
    await adapter.emit_agent_completed(answer)  # silent: not an all-users method
    logger.info("broadcast agent_completed skipped: %s", answer)  # silent: a log message


async def test_refresh_reaches_everyone() -> None:
    manager = AsyncMock(spec=WebSocketManager)
    await publish_refresh(manager, "sales")
    manager.broadcast_to_all.assert_awaited_once_with(  # silent: a mock assertion
        {"type": "agent_completed", "final_response": "sales refreshed", "success": True}
    )
