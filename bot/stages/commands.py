"""`CommandStage`: answers `/help`, `/reset` and other slash commands without touching the model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.engine import Next
from bot.services import Services
from bot.types import Reply, Turn

Command = Callable[[Turn, str], Awaitable[Reply]]


class CommandStage:
    def __init__(self, services: Services) -> None:
        self._services = services
        self.commands: dict[str, tuple[str, Command]] = {
            "/help": ("show this help", self._help),
            "/reset": ("forget this conversation and start over", self._reset),
        }

    @classmethod
    def build(cls, services: Services) -> CommandStage:
        return cls(services)

    def add(self, name: str, description: str, handler: Command) -> None:
        self.commands[name] = (description, handler)

    def _reply(self, turn: Turn, text: str) -> Reply:
        return Reply(text=text, kind="command", conversation_id=turn.message.conversation_id)

    async def _help(self, turn: Turn, _args: str) -> Reply:
        listing = [(name, description) for name, (description, _) in sorted(self.commands.items())]
        text = self._services.prompts.render("help", company=self._services.company, commands=listing)
        return self._reply(turn, text)

    async def _reset(self, turn: Turn, _args: str) -> Reply:
        self._services.conversations.reset(turn.message.conversation_id)
        return self._reply(turn, self._services.prompts.render("reset"))

    async def __call__(self, turn: Turn, call_next: Next) -> Reply:
        text = turn.message.text.strip()
        if not text.startswith("/"):
            return await call_next(turn)
        name, _, args = text.partition(" ")
        entry = self.commands.get(name.lower())
        if entry is None:
            return self._reply(turn, self._services.prompts.render("unknown_command", command=name))
        return await entry[1](turn, args.strip())
