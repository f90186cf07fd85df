# agent-events: allow-file(deprecated-api) -- silent: used, the nightly jobs keep the old notifier until the port
"""`unused-suppression`: suppression comments that suppress nothing. The tests run this file with
`user-emitter-call` and `deprecated-api` selected too, the rules its suppressions name.

Docstrings are never suppressions: agent-events: allow(user-emitter-call) -- silent: a docstring
"""

from app.websocket.core import WebSocketNotifier
from app.websocket.user_emitter import UserEmitter


class NightlyJob:
    def __init__(self, emitter: UserEmitter, notifier: WebSocketNotifier) -> None:
        self.emitter = emitter
        self.notifier = notifier

    async def start(self) -> None:
        await self.emitter.notify_agent_started("nightly")  # agent-events: allow(user-emitter-call) -- silent: used, migrated in #12
        # agent-events: allow(user-emitter-call) -- silent: used by the next line of code
        # (the mobile app reads these frames until v2.4)
        await self.emitter.notify_agent_thinking("Loading the warehouse")

    async def finish(self, rows: int) -> int:
        total = rows * 2  # agent-events: allow(user-emitter-call) -- left over from the migration # expect: unused-suppression
        # agent-events: allow(user-emitter-call) -- the call below was migrated # expect: unused-suppression
        summary = f"{total} rows"
        await self.emitter.notify_agent_completed(summary)  # agent-events: allow(user-emitter-call, deprecated-api) -- half stale # expect: unused-suppression
        return total

    async def fail(self, error: str) -> None:
        await self.emitter.notify_agent_error(error)  # agent-events: allow(user-emiter-call) -- a typo # expect: unused-suppression, user-emitter-call
        await self.notifier.send_agent_completed(error)  # agent-events: alow(user-emitter-call) -- misspelt # expect: unused-suppression

    def describe(self) -> str:
        return "add `# agent-events: allow(user-emitter-call)` to keep a call"  # silent: a string, not a comment

    def connections(self) -> int:
        return 0  # agent-events: allow(unscoped-broadcast) -- silent: that rule is not selected in this run, so its suppressions are not judged


# agent-events: allow-file(user-emitter-call) -- too late: only the first comment block can hold it # expect: unused-suppression
