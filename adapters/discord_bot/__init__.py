"""The Discord channel (`deskbot discord`): a discord.py client that answers mentions, DMs and configured channels."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.runtime import Runtime


class DiscordBot:
    """The `discord` adapter: `run()` connects with `[discord] token` and reconnects through discord.py itself."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def run(self, **_options: Any) -> None:
        from adapters.discord_bot.client import DeskbotClient

        token = self._runtime.settings.discord.token
        if token is None:
            raise ConfigError("no Discord token: set DESKBOT_DISCORD__TOKEN or [discord] token in deskbot.toml")
        client = DeskbotClient(self._runtime)
        client.run(token.get_secret_value(), reconnect=True, log_handler=None, log_level=logging.INFO)
