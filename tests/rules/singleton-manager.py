"""`singleton-manager`: process-wide websocket managers and the getters that reach them."""

from __future__ import annotations

import logging
from typing import Any, Optional

from app.websocket.core import get_websocket_manager as gwm

logger = logging.getLogger(__name__)


class WebSocketManager:
    def __init__(self) -> None:
        self._connections: dict[str, list[Any]] = {}

    def connection_count(self) -> int:
        return sum(len(sockets) for sockets in self._connections.values())


class AgentWebSocketBridge:
    """Routes run events to the user who started the run. One per process."""

    _instance = None

    def __init__(self, manager: WebSocketManager) -> None:
        self.manager = manager

    @classmethod
    def get_instance(cls):  # expect: singleton-manager
        if cls._instance is None:
            cls._instance = cls(get_websocket_manager())  # expect: singleton-manager
        return cls._instance


class Settings:
    _instance = None

    @classmethod
    def get_instance(cls) -> "Settings":  # silent: `Settings` is not a manager type
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


_manager = WebSocketManager()  # expect: singleton-manager
_bridge: Optional[AgentWebSocketBridge] = None  # expect: singleton-manager
_user_managers: dict[str, WebSocketManager] = {}  # silent: one manager per user, keyed by user id
DEFAULT_TIMEOUT = 30.0  # silent: not a manager


def get_websocket_manager():  # expect: singleton-manager
    """The process-wide manager. Deprecated: use ``get_websocket_manager_for(user_context)``."""
    return _manager


def get_websocket_manager_for(user_context) -> WebSocketManager:  # silent: takes the user context
    return _user_managers.setdefault(user_context.user_id, WebSocketManager())


def get_agent_websocket_bridge():  # expect: singleton-manager
    global _bridge
    if _bridge is None:
        _bridge = AgentWebSocketBridge.get_instance()  # expect: singleton-manager
    return _bridge


def connected_sockets() -> int:
    return gwm().connection_count()  # expect: singleton-manager


async def per_request(user_context) -> int:
    manager = get_websocket_manager(user_context)  # silent: the getter is given the user context
    fresh = WebSocketManager()  # silent: a local manager, not a module-level one
    return manager.connection_count() + fresh.connection_count()


def stream_thinking() -> bool:
    return Settings.get_instance() is not None  # silent: `Settings` is not a manager type


def migration_note() -> str:
    logger.info("replace get_websocket_manager() with the per-user factory")  # silent: a string
    return "get_websocket_manager()"


# Seen in real code: a lazy module-level manager behind a getter.
_bridge = None


def get_bridge():
    global _bridge
    if _bridge is None:
        _bridge = AgentWebSocketBridge()  # expect: singleton-manager
    return _bridge


def make_bridge():
    bridge = AgentWebSocketBridge()  # silent: a local, returned to whoever asked
    return bridge
