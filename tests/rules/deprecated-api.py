"""`deprecated-api`: uses of the emitters the migration removes.

Old code built notifiers with ``WebSocketNotifier.create_for_user(user_id)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from app.websocket.core import (
    WebSocketManager,
    WebSocketNotifier,  # expect: deprecated-api
    get_agent_websocket_bridge,  # expect: deprecated-api
)
from app.websocket.core import WebSocketNotifier as Notifier  # expect: deprecated-api

if TYPE_CHECKING:
    from app.websocket import core
    from app.websocket.mobile import UnifiedWebSocketEmitter as MobileEmitter  # expect: deprecated-api


class ExecutionContext:
    websocket_bridge: Optional[MobileEmitter] = None  # expect: deprecated-api


async def replay_last_answer(user_id: str, answer: str) -> None:
    # One site: the annotation and the call on this line are one finding.
    notifier: WebSocketNotifier = WebSocketNotifier.create_for_user(user_id)  # expect: deprecated-api
    await notifier.send_agent_completed(answer)


def notifier_for(manager: WebSocketManager, user_id: str) -> Any:
    return Notifier(manager, user_id)  # expect: deprecated-api


async def route_report_event(run_id: str, message: dict[str, Any]) -> bool:
    bridge = get_agent_websocket_bridge()  # expect: deprecated-api
    return await bridge.route(run_id, message)


async def legacy_job(user_id: str) -> None:
    from app.websocket.core import WebSocketNotifier as JobNotifier  # expect: deprecated-api

    await JobNotifier.create_for_user(user_id).send_agent_started("nightly")  # expect: deprecated-api


class UserEmitter:
    # known miss: a quoted annotation names the class through the `core` module
    def __init__(self, notifier: "core.WebSocketNotifier", thread_id: str) -> None:
        self._notifier = notifier
        self.thread_id = thread_id


class WebSocketNotifierConfig:
    """Only the name looks alike."""

    retries = 3


def retries(config: WebSocketNotifierConfig) -> int:  # silent: another name that starts alike
    return config.retries


def migration_note(notifier: Any) -> str:
    # silent: a string and a comment naming the old API: WebSocketNotifier.create_for_user
    return f"{notifier!r} still uses WebSocketNotifier.create_for_user"


class UnifiedWebSocketEmitter:  # silent: the item's own definition
    """The desktop copy of the deprecated emitter, still defined here until the port."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    @classmethod
    def for_user(cls, user_id: str) -> UnifiedWebSocketEmitter:  # silent: inside its own class
        return cls(user_id)


def desktop_emitter(user_id: str) -> UnifiedWebSocketEmitter:  # expect: deprecated-api
    return UnifiedWebSocketEmitter.for_user(user_id)  # expect: deprecated-api


# Seen in real code: a compatibility alias, and construction through an attribute.
class AgentWebSocketBridge:
    @classmethod
    def create_notifier(cls, emitter: Any, user_context: Any) -> Any:
        return cls.WebSocketNotifier(emitter, user_context)  # expect: deprecated-api


# One site: the alias's target and its value are one finding, "referenced".
AgentWebSocketBridge.WebSocketNotifier = WebSocketNotifier  # expect: deprecated-api
