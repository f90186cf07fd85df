"""`unpaired-tool-event`: a `tool_executing` that some path leaves without its `tool_completed`."""

import asyncio
import logging
from typing import Any

from fastapi import WebSocket

logger = logging.getLogger(__name__)


class ToolTimeout(RuntimeError):
    pass


class ToolExecutor:
    def __init__(self, adapter, registry: dict[str, Any], user_emitter, manager) -> None:
        self._websocket_adapter = adapter
        self.registry = registry
        self.user_emitter = user_emitter
        self.manager = manager
        self.timeout = 30.0

    async def execute(self, tool_name: str, params: dict[str, Any]) -> Any:
        await self.user_emitter.notify_tool_executing(tool_name, params)  # expect: unpaired-tool-event
        tool = self.registry.get(tool_name)
        if tool is None:
            return None
        result = await tool(**params)
        await self.user_emitter.notify_tool_completed(tool_name, result)
        return result

    async def execute_strict(self, tool_name: str, params: dict[str, Any]) -> Any:
        await self.user_emitter.notify_tool_executing(tool_name, params)  # expect: unpaired-tool-event
        if tool_name not in self.registry:
            raise KeyError(tool_name)
        result = await self.registry[tool_name](**params)
        await self.user_emitter.notify_tool_completed(tool_name, result)
        return result

    async def execute_all(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        results = []
        for name, params in calls:
            await self.user_emitter.notify_tool_executing(name, params)  # expect: unpaired-tool-event
            if name not in self.registry:
                logger.warning("skipping unknown tool %s", name)
                continue
            result = await self.registry[name](**params)
            await self.user_emitter.notify_tool_completed(name, result)
            results.append(result)
        return results

    async def run_batch(self, user_id: str, steps: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        results = []
        for tool, args in steps:
            await self.manager.send_tool_executing(user_id, tool, args)  # expect: unpaired-tool-event
            try:
                handler = self.registry[tool]
            except KeyError:
                logger.error("batch stopped at unknown tool %s", tool)
                break
            result = await handler(**args)
            await self.manager.send_tool_completed(user_id, tool, result)
            results.append(result)
        return results

    async def execute_by_mode(self, name: str, params: dict[str, Any]) -> Any:
        await self.user_emitter.notify_tool_executing(name, params)  # expect: unpaired-tool-event
        match params.get("mode"):
            case "dry_run":
                return {"dry_run": True, "tool": name}
            case _:
                result = await self.registry[name](**params)
        await self.user_emitter.notify_tool_completed(name, result)
        return result

    async def execute_detached(self, tool_name: str, params: dict[str, Any]) -> "asyncio.Task[None]":
        await self.user_emitter.notify_tool_executing(tool_name, params)  # expect: unpaired-tool-event

        async def finish() -> None:
            # silent: the task only completes; its own body is checked on its own
            result = await self.registry[tool_name](**params)
            await self.user_emitter.notify_tool_completed(tool_name, result)

        return asyncio.create_task(finish())

    async def list_tables(self, context) -> list[str]:
        await self._emit_websocket_event(context, "tool_executing", {"tool_name": "list_tables"})  # expect: unpaired-tool-event
        tables = await self.registry["list_tables"]()
        if not tables:
            return []
        await self._emit_websocket_event(context, "tool_completed", {"tool_name": "list_tables", "results": tables})
        return tables

    async def execute_safely(self, tool_name: str, params: dict[str, Any]) -> Any:
        await self.user_emitter.notify_tool_executing(tool_name, params)  # silent: `finally` completes it on every path
        result: Any = None
        try:
            tool = self.registry.get(tool_name)
            if tool is None:
                result = {"error": f"unknown tool {tool_name}"}
                return result
            result = await asyncio.wait_for(tool(**params), self.timeout)
            return result
        except asyncio.TimeoutError:
            result = {"error": "timed out"}
            raise ToolTimeout(tool_name) from None
        finally:
            await self.user_emitter.notify_tool_completed(tool_name, result)

    async def run_guarded(self, user_id: str, tool: str, args: dict[str, Any], optional: bool) -> Any:
        await self.manager.send_tool_executing(user_id, tool, args)  # silent: every handler completes before leaving
        try:
            result = await self.registry[tool](**args)
        except Exception as exc:
            await self.manager.send_tool_completed(user_id, tool, {"error": str(exc)})
            if optional:
                return None
            raise
        else:
            await self.manager.send_tool_completed(user_id, tool, result)
        return result

    async def execute_with_retry(self, tool_name: str, params: dict[str, Any], attempts: int = 3) -> Any:
        await self.user_emitter.notify_tool_executing(tool_name, params)  # silent: the loop's exits stay inside the function
        result: Any = {"error": "not run"}
        for attempt in range(1, attempts + 1):
            try:
                result = await asyncio.wait_for(self.registry[tool_name](**params), self.timeout)
                break
            except asyncio.TimeoutError:
                logger.info("%s timed out (attempt %d of %d)", tool_name, attempt, attempts)
                continue
        await self.user_emitter.notify_tool_completed(tool_name, result)
        return result

    async def describe_table(self, table: str) -> dict[str, Any]:
        await self._websocket_adapter.emit_tool_executing("describe_table", {"table": table})  # silent: the canonical adapter
        if table.startswith("_"):
            return {}
        columns = await self.registry["describe_table"](table=table)
        await self._websocket_adapter.emit_tool_completed("describe_table", columns)
        return columns

    async def notify_tool_executing(self, name: str, params: dict[str, Any]) -> None:  # silent: the emission itself
        await self.manager.send_tool_executing("system", name, params)

    async def _emit_websocket_event(self, context, event_type: str, data: dict[str, Any]) -> None:
        await self.manager.send_to_user(context.user_id, {"type": event_type, **data})


async def start_upload_scan(websocket: WebSocket, upload_id: str) -> None:
    """Tells the browser a virus scan started; the scanner's callback reports the end."""
    await websocket.send_json({"type": "tool_executing", "tool_name": "virus_scan", "tool_call_id": upload_id})  # expect: unpaired-tool-event


# Seen in real code: both sends under the same guard, and a dispatcher.
class GuardedRunner:
    async def run_tool(self, tool, args: dict[str, Any]) -> Any:
        if self.bridge:
            await self.bridge.notify_tool_executing(tool.name, args)  # silent: completed under the same guard
        result = await tool.run(args)
        if self.bridge:
            await self.bridge.notify_tool_completed(tool.name, result)
        return result

    async def run_unguarded(self, tool, args: dict[str, Any]) -> Any:
        if self.bridge:
            await self.bridge.notify_tool_executing(tool.name, args)  # expect: unpaired-tool-event
        result = await tool.run(args)
        if self.other_bridge:
            await self.other_bridge.notify_tool_completed(tool.name, result)
        return result

    async def _send_event(self, event_type: str, tool_name: str) -> None:
        # silent: a dispatcher sends the one event it is asked for
        if event_type == "tool_executing":
            await self.ws.send_tool_executing(tool_name)
        elif event_type == "tool_completed":
            await self.ws.send_tool_completed(tool_name)


# Seen in real code: a test's capture hook records the event it is given; it sends nothing.
def capture_tool_executing(log: list, run_id: str, tool_name: str) -> None:
    event = {"type": "tool_executing", "run_id": run_id, "tool_name": tool_name}  # silent: kept, not sent
    log.append(event)


# Seen in real code: both sends under the same compound condition.
async def simulate_work(self, run_id: str, stream_updates: bool) -> None:
    if stream_updates and self.websocket_bridge:
        await self.websocket_bridge.notify_tool_executing(run_id, self.name, "optimizer", {})  # silent: the same condition
    await asyncio.sleep(0.1)
    if stream_updates and self.websocket_bridge:
        await self.websocket_bridge.notify_tool_completed(run_id, self.name, "optimizer", {})
