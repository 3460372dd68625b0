"""`CommandStage`: answers slash commands without touching the model.

`/help`, `/reset`, `/human` (hand the conversation to a person and announce a `bot.handoff.HandoffNotice`; the
bot stays silent until `/bot` or `ConversationStore.release_handoff`), `/bot` and `/feedback good|bad [comment]`
(rates the last answer). Chat buttons (Slack, Discord) send exactly these texts. Commands are not stored as
conversation messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar

from bot.conversations import utc_now
from bot.engine import Next, StageInfo
from bot.handoff import HandoffNotice
from bot.language import reply_language
from bot.services import Services
from bot.store.database import StoreError
from bot.types import Reply, ReplyKind, Turn

log = logging.getLogger(__name__)

Command = Callable[[Turn, str], Awaitable[Reply]]


class CommandStage:
    info: ClassVar[StageInfo] = StageInfo(role="command")

    def __init__(self, services: Services) -> None:
        self._services = services
        self._store = services.conversations
        self.commands: dict[str, tuple[str, Command]] = {
            "/help": ("show this help", self._help),
            "/reset": ("forget this conversation and start over", self._reset),
            "/human": ("hand this conversation to a person from our team", self._human),
            "/bot": ("talk to the bot again after /human", self._bot),
            "/feedback": ("rate my last answer: /feedback good|bad [comment]", self._feedback),
        }

    @classmethod
    def build(cls, services: Services) -> CommandStage:
        return cls(services)

    def add(self, name: str, description: str, handler: Command) -> None:
        self.commands[name] = (description, handler)

    def _reply(self, turn: Turn, template: str, kind: ReplyKind = "command", **values: object) -> Reply:
        language = reply_language(turn.message, turn.profile)
        text = self._services.prompts.render(template, language, **values)
        return Reply(text=text, kind=kind, handoff=kind == "handoff", conversation_id=turn.message.conversation_id)

    async def _help(self, turn: Turn, _args: str) -> Reply:
        listing = [(name, description) for name, (description, _) in sorted(self.commands.items())]
        return self._reply(turn, "help", company=self._services.company, commands=listing)

    async def _reset(self, turn: Turn, _args: str) -> Reply:
        await asyncio.to_thread(self._store.reset, turn.message.conversation_id)
        return self._reply(turn, "reset")

    async def _human(self, turn: Turn, args: str) -> Reply:
        message = turn.message
        await asyncio.to_thread(
            self._store.start_handoff, message.conversation_id, message.user_id, message.channel, args
        )
        notice = HandoffNotice(message.conversation_id, message.user_id, message.channel, args, utc_now())
        await self._services.handoff_notices.announce(notice)
        return self._reply(turn, "handoff", kind="handoff")

    async def _bot(self, turn: Turn, _args: str) -> Reply:
        released = await asyncio.to_thread(self._store.release_handoff, turn.message.conversation_id)
        return self._reply(turn, "released" if released else "not_handed_off")

    async def _feedback(self, turn: Turn, args: str) -> Reply:
        rating, _, comment = args.partition(" ")
        rating = rating.lower()
        if rating not in {"good", "bad"}:
            return self._reply(turn, "feedback_usage")
        message = turn.message
        rated = await asyncio.to_thread(
            self._store.rate_last_answer,
            message.conversation_id,
            message.user_id,
            "good" if rating == "good" else "bad",
            comment.strip() or None,
        )
        return self._reply(turn, "feedback_thanks" if rated else "feedback_nothing", rating=rating)

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        text = turn.message.text.strip()
        if not text.startswith("/"):
            return await call_next(turn)
        name, _, args = text.partition(" ")
        entry = self.commands.get(name.lower())
        if entry is None:
            return self._reply(turn, "unknown_command", command=name)
        try:
            return await entry[1](turn, args.strip())
        except StoreError as error:
            log.error("command %s in conversation %s failed: %s", name, turn.message.conversation_id, error)
            return self._reply(turn, "store_error", kind="error")
