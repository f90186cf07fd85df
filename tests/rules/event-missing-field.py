"""`event-missing-field`: hand-built events that lack a field their type requires."""

import json
import time
from typing import Any

from fastapi import WebSocket


class WebSocketManager:
    async def send_tool_executing(self, user_id: str, tool_name: str, parameters: dict[str, Any]) -> None:
        message = {  # expect: event-missing-field
            "type": "tool_executing",
            "tool_name": tool_name,
            "parameters": parameters,
            "timestamp": time.time(),
        }
        await self.send_to_user(user_id, message)

    # The web app still reads "result"; keep it until the client reads "results".
    async def send_tool_completed(self, user_id: str, tool_name: str, result: Any, tool_call_id: str = "") -> None:
        message = {  # expect: event-missing-field
            "type": "tool_completed",
            "tool_name": tool_name,
            "tool_call_id": tool_call_id,
            "result": result,
            "success": not (isinstance(result, dict) and "error" in result),
        }
        await self.send_to_user(user_id, message)

    async def send_agent_completed(self, user_id: str, final_response: str) -> None:
        event = {"type": "agent_completed", "final_response": final_response}
        event["success"] = True  # silent: the missing field is assigned later in the same function
        await self.send_to_user(user_id, event)

    async def send_tool_result(self, user_id: str, tool_name: str, call_id: str, results: Any, ok: bool) -> None:
        # known false positive: `update()` adds `results` and `success`, and only assignments and
        # `insert` calls are counted
        event = {"type": "tool_completed", "tool_name": tool_name, "tool_call_id": call_id}  # expect: event-missing-field
        event.update(results=results, success=ok)
        await self.send_to_user(user_id, event)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None: ...


async def stream_thought(websocket: WebSocket, thought: str, step: int) -> None:
    # silent: no other key is an event field, and a raw socket is no known path to a user:
    # another protocol's frame looks the same
    await websocket.send_text(json.dumps({"type": "agent_thinking", "step": step, "text": thought}))


async def mobile_thought(websocket: WebSocket, thought: str) -> None:
    frame = dict(event="agent_thinking", reasoning=thought)  # expect: event-missing-field
    await websocket.send_json(frame)


async def mobile_tool_done(websocket: WebSocket, tool_name: str, call_id: str, results: Any) -> None:
    await websocket.send_json(
        {  # expect: event-missing-field
            "event": "tool_completed",
            "payload": {"tool_name": tool_name, "tool_call_id": call_id, "results": results},
        }
    )


async def nested_thought(websocket: WebSocket, thought: str) -> None:
    # silent: `thought` counts one level down under `data`
    await websocket.send_json({"type": "agent_thinking", "data": {"thought": thought}})


async def started(websocket: WebSocket, agent_name: str) -> None:
    # silent: `agent_started` requires no field of its own; `user_id` is the envelope's
    await websocket.send_json({"type": "agent_started", "agent_name": agent_name})


async def replay(websocket: WebSocket, stored: dict[str, Any]) -> None:
    # silent: `**stored` may hold every field, so the key set is not known
    await websocket.send_json({"event_type": "agent_completed", **stored})


async def scan_started(websocket: WebSocket, upload_id: str) -> None:
    # known miss: the type is named to the helper and the dict lacks `tool_call_id`
    await send_event(websocket, "tool_executing", {"tool_name": "virus_scan", "upload": upload_id})


async def presence(websocket: WebSocket) -> None:
    await websocket.send_json({"type": "presence", "status": "joined"})  # silent: not an agent event type


async def send_event(websocket: WebSocket, event_type: str, data: dict[str, Any]) -> None:
    await websocket.send_json({"type": event_type, **data})


def test_frame_shapes_the_client_accepts() -> None:
    # silent: what a client sends, built in a test and never sent to a user
    question = {"type": "user_message", "text": "Which region sold most?"}
    answer = {"type": "agent_response", "content": "North."}  # silent: complete
    assert question["type"] == "user_message" and answer["content"] == "North."


# Seen in real code: another protocol's frame, built and handed to a formatter, never sent.
def chat_frame(text: str, frames: list) -> None:
    # silent: not sent, so not judged against this schema
    frames.append({"type": "agent_response", "message": text})


# Seen in real code: a dict bound first and sent later in the same function.
async def complete(emitter, answer: str) -> None:
    completion = {"type": "agent_completed", "final_response": answer}  # expect: event-missing-field
    await emitter.send_message(completion)
