"""`ReplyButtons`: the buttons under an answer (helpful / not helpful / talk to a person), persistent across restarts.

A click becomes an engine command (`/feedback good`, `/feedback bad`, `/human`) in the clicker's conversation where
the button was clicked (`translation.conversation_id_for`: the thread's or DM's, in a plain channel the clicker's own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.presentation import REPLY_ACTIONS, ReplyAction, actions_for
from bot.types import Reply

OnCommand = Callable[[discord.Interaction[Any], str], Awaitable[None]]

STYLES = {"feedback:good": discord.ButtonStyle.success, "human": discord.ButtonStyle.primary}


def custom_id(action: ReplyAction) -> str:
    """The button's Discord `custom_id` (`deskbot:feedback:good`): stable, so the buttons outlive restarts."""
    return f"deskbot:{action.id}"


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
        for action in REPLY_ACTIONS:
            style = STYLES.get(action.id, discord.ButtonStyle.secondary)
            self.add_item(CommandButton(custom_id(action), action.label, style, action.command))


def buttons_for(reply: Reply, on_command: OnCommand) -> ReplyButtons | None:
    """The buttons under `reply`, when it offers the reply actions."""
    return ReplyButtons(on_command) if actions_for(reply) else None
