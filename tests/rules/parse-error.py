"""`parse-error`: a file the linter cannot parse. Everything above the Python 2 `print`
statement looks odd but parses as Python 3, so the only finding is that statement."""

import json
import logging
from typing import Any

log = logging.getLogger(__name__)

type EventDict = dict[str, Any]  # silent: a PEP 695 type alias


class EventBuffer[E: EventDict]:  # silent: PEP 695 generics
    def __init__(self) -> None:
        self._items: list[E] = []

    def of_type(self, event_type: str) -> list[E]:
        return [item for item in self._items if item.get("type") == event_type]


def describe(event: EventDict) -> str:
    match event:  # silent: structural pattern matching
        case {"type": "tool_executing" | "tool_completed", "tool_name": str(name)}:
            return f"tool {name}"
        case {"type": kind}:
            return f"{event["type"]} ({kind})"  # silent: PEP 701 nested quotes in an f-string
        case _:
            return "other"


def soft_keywords(match: str, case: str, type: str) -> str:  # silent: soft keywords as names
    print("sending", match, case, type)  # silent: print as a function
    return match


async def drain(sockets: list[Any]) -> list[str]:
    if (count := len(sockets)) > 0:  # silent: an assignment expression
        log.debug("draining %d sockets", count)
    return [frame async for socket in sockets for frame in socket]  # silent: an async comprehension


def notify_agent_started(socket: Any, user_id: str, agent_name: str) -> None:
    try:
        socket.send(json.dumps({"type": "agent_started", "agent": agent_name}))
    except Exception, e:  # silent: since Python 3.14 (PEP 758) this parses, as `except (Exception, e):`
        log.error("notify_agent_started failed for %s: %s" % (user_id, e))
    print "sent agent_started to %s" % user_id  # expect: parse-error
