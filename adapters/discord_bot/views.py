"""`ReplyButtons`: the buttons under an answer (helpful / not helpful / talk to a person), persistent across restarts.

A click becomes an engine command (`/feedback good`, `/feedback bad`, `/human`) in the clicker's conversation where
the button was clicked (`translation.conversation_id_for`: the thread's or DM's, in a plain channel the clicker's own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

OnCommand = Callable[[discord.Interaction[Any], str], Awaitable[None]]

BUTTONS = (
    ("deskbot:feedback:good", "Helpful", discord.ButtonStyle.success, "/feedback good"),
    ("deskbot:feedback:bad", "Not helpful", discord.ButtonStyle.secondary, "/feedback bad"),
    ("deskbot:human", "Talk to a person", discord.ButtonStyle.primary, "/human"),
)


class CommandButton(discord.ui.Button["ReplyButtons"]):
    def __init__(self, custom_id: str, label: str, style: discord.ButtonStyle, command: str) -> None:
        super().__init__(custom_id=custom_id, label=label, style=style)
        self.command = command

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.view is not None
        await self.view.on_command(interaction, self.command)


class ReplyButtons(discord.ui.View):
    def __init__(self, on_command: OnCommand) -> None:
        super().__init__(timeout=None)
        self.on_command = on_command
        for custom_id, label, style, command in BUTTONS:
            self.add_item(CommandButton(custom_id, label, style, command))
