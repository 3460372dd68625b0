"""The Discord channel's configuration: `[discord]` in deskbot.toml (`DESKBOT_DISCORD__TOKEN`, ...)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bot.config import Section


class DiscordSettings(Section):
    token: SecretStr | None = None
    channels: list[int] = Field(default_factory=list, description="Channel ids where every message is answered.")
    threads: bool = Field(True, description="Answer a channel message in a new thread, one thread per conversation.")
    edit_interval_s: float = Field(1.0, ge=0.2, description="Streamed answers edit the message at most this often.")
    sync_commands: bool = Field(True, description="Register the slash commands with Discord on start.")
