"""`direct-event-payload`: agent events assembled by hand in a legacy FastAPI backend.

The web client switches on ``type``; old code built {"type": "agent_started"} frames itself.
"""

import json
import logging
import time
from typing import Any

from fastapi import WebSocket

logger = logging.getLogger(__name__)

AGENT_THINKING = "agent_thinking"
# silent: names of event types, not events
LIFECYCLE_TYPES = frozenset({"agent_started", "agent_completed"})
EVENT_LABELS = {"agent_started": "Started", "tool_executing": "Running a tool"}  # silent: event types as keys


class DataAgent:
    def __init__(self, adapter, manager) -> None:
        self._websocket_adapter = adapter
        self.manager = manager

    async def _emit_websocket_event(self, context, event_type: str, data: dict[str, Any]) -> None:
        message = {"type": event_type, "user_id": context.user_id, "timestamp": time.time()}  # silent: the type is a variable
        message.update(data)
        await self.manager.send_to_user(context.user_id, message)

    async def answer(self, context, question: str) -> None:
        await self._emit_websocket_event(context, "agent_started", {"message": question})  # expect: direct-event-payload
        await self._emit_websocket_event(context, AGENT_THINKING, {"thought": "Reading"})  # expect: direct-event-payload
        await self._websocket_adapter.emit_agent_thinking("Looking for the table")  # silent: the canonical adapter

    async def think(self, context, thought: str, step: int) -> None:
        await self.manager.send_to_user(
            context.user_id,
            {"type": "agent_thinking", "thought": thought, "step_number": step},  # expect: direct-event-payload
        )

    async def tool_done(self, context, tool_name: str, results: Any) -> None:
        frame = {"tool_name": tool_name, "tool_call_id": "call_1", "results": results}
        frame["type"] = "tool_completed"  # expect: direct-event-payload
        frame["success"] = True
        await self.manager.send_to_user(context.user_id, frame)

    async def mobile_tool_started(self, context, tool_name: str, params: dict[str, Any]) -> None:
        frame = {
            "event": "tool_executing",  # expect: direct-event-payload
            "payload": {"tool_name": tool_name, "tool_call_id": "call_1", "parameters": params},
        }
        await self.manager.send_json(frame)

    def thinking_frame(self, thought: str, step: int) -> dict[str, Any]:
        return dict(type="agent_thinking", thought=thought, step_number=step)  # expect: direct-event-payload

    async def echo(self, context, text: str) -> None:
        await self.manager.send_to_thread(context.thread_id, {'event_type': 'user_message', 'content': text})  # expect: direct-event-payload

    async def forward(self, context, event_type: str, data: dict[str, Any]) -> None:
        await self._emit_websocket_event(context, event_type, data)  # silent: the type is a parameter


async def stream_reply(websocket: WebSocket, text: str) -> None:
    await websocket.send_text(json.dumps({"type": "agent_response", "content": text}))  # expect: direct-event-payload


async def pong(websocket: WebSocket) -> None:
    await websocket.send_text(json.dumps({"type": "pong"}))  # silent: not an agent event type


def timeline_entry(event_type: str) -> dict[str, Any]:
    return {"kind": "agent_started", "label": EVENT_LABELS.get(event_type, event_type)}  # silent: `kind` is not a type key


def describe(event: dict[str, Any]) -> str:
    match event["type"]:
        case "agent_started":  # silent: a match on a received frame
            return "run started"
        case "tool_executing" | "tool_completed":
            return f"tool {event.get('tool_name')}"
        case _:
            return "other"


def is_tool_done(event: dict[str, Any]) -> bool:
    return event.get("type") == "tool_completed"  # silent: a comparison


def log_delivery(user: str, event: dict[str, Any]) -> None:
    logger.info("sent agent_started to %s", user)  # silent: a log message
    logger.debug(f"delivered {event['type']} to {user} (tool_completed carries results)")  # silent: an f-string
    # await websocket.send_json({"type": "agent_started"})  silent: a comment


def test_frames_the_client_accepts(mock_ws) -> None:
    expected = {"type": "agent_completed", "final_response": "North sold the most."}  # expect: direct-event-payload
    expected["success"] = True
    assert expected["type"] == "agent_completed"  # silent: a comparison in an assertion
    mock_ws.send_json.assert_called_once_with({"type": "agent_started", "agent_name": "data_agent"})  # silent: a mock assertion


# Seen in real code: `user_message` is what clients send.
async def test_client_asks(client) -> None:
    # silent: a test client sending `user_message` to the server
    await client.send({"type": "user_message", "payload": {"content": "Which region sold most?"}})


async def route(router, user_id: str, websocket) -> None:
    # silent: an input to the message router, never sent to a user
    message = {"type": "user_message", "payload": {"content": "Help me"}}
    await router.route_message(user_id, websocket, message)


async def echo_to_thread(manager, thread_id: str, text: str) -> None:
    echo = {"type": "user_message", "content": text}  # expect: direct-event-payload
    await manager.send_to_thread(thread_id, echo)


# Seen in real code: test-case descriptors whose other keys are no event fields.
# silent: a descriptor, not an event
ACCESS_CASES = [{"event_type": "tool_completed", "expected_js_access_patterns": ["event.data.result"]}]


# Seen in real code: types the schema does not list, sent as agent events.
async def report_error(emitter, run_id: str, error: str) -> None:
    notification = {"type": "agent_error", "run_id": run_id, "data": {"error_message": error}}  # expect: direct-event-payload
    await emitter.send_message(notification)


async def stop(manager, user_id: str) -> None:
    await manager.send_to_user(user_id, {"type": "agent_stopped"})  # expect: direct-event-payload


def status_row(name: str, rows: list) -> None:
    # silent: an `agent_` type that is never sent: a row of a status table
    rows.append({"type": "agent_status_row", "name": name})


# Seen in real code: typed event models serialised by hand onto a raw socket.
async def stream_started(websocket: WebSocket, agent_started_event) -> None:
    await websocket.send_text(json.dumps(agent_started_event.model_dump()))  # expect: direct-event-payload


async def stream_done(websocket: WebSocket, answer: str) -> None:
    await websocket.send_json(AgentCompletedEvent(final_response=answer, success=True).model_dump())  # expect: direct-event-payload


async def stream_status(websocket: WebSocket, status_update) -> None:
    await websocket.send_text(json.dumps(status_update.model_dump()))  # silent: not named for an agent event


# Seen in real code: an LLM API's content blocks whose types start with `tool_`.
def tool_use_response(tool_input: dict) -> dict:
    # silent: an API message, none of whose keys is an event field
    return {"type": "message", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Search", "input": tool_input}]}


# Seen in real code: a test client's request to the server, named like an agent event.
async def ask_agent(websocket, query: str) -> None:
    request = {"type": "agent_request", "agent": "triage_agent", "message": query}  # silent: a client's request
    await websocket.send(json.dumps(request))


async def trigger(client, message: str) -> None:
    # silent: a test client's request, whatever the method is called
    await client.send_json({"type": "agent_request", "agent": "data_analyst_agent", "message": message})
