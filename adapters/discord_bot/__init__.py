"""The Discord channel (`deskbot discord`): a discord.py client that answers mentions, DMs and configured channels."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.discord_bot.settings import DiscordSettings
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.adapter import AdapterContext
    from bot.config import Section


class DiscordBot:
    """The `discord` adapter: `run()` connects with `[discord] token` and reconnects through discord.py itself."""

    settings_sections: ClassVar[dict[str, type[Section]]] = {"discord": DiscordSettings}

    def __init__(self, context: AdapterContext) -> None:
        self._context = context

    def run(self, **_options: Any) -> None:
        from adapters.discord_bot.client import DeskbotClient

        token = self._context.settings.section(DiscordSettings).token
        if token is None:
            raise ConfigError("no Discord token: set DESKBOT_DISCORD__TOKEN or [discord] token in deskbot.toml")
        client = DeskbotClient(self._context)
        client.run(token.get_secret_value(), reconnect=True, log_handler=None, log_level=logging.INFO)
