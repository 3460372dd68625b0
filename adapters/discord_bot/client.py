"""`DeskbotClient`: the discord.py client. It only translates: Discord events -> engine Messages -> Discord messages.

Minimal intents (guilds, guild and DM messages; message content only when `[discord] channels` needs it: mentions and
DMs carry their content without it). Connection, heartbeats, reconnects and rate limits are discord.py's own. Once
set up, the client also delivers the operator replies and handoff notices waiting for it in the durable delivery
queue (`adapters.discord_bot.operator_replies`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord_bot.operator_replies import QueueConsumer
from adapters.discord_bot.settings import DiscordSettings
from adapters.discord_bot.streaming import DISCORD_LIMIT, StreamedAnswer
from adapters.discord_bot.translation import is_addressed_to_bot, question_text, to_engine_message
from adapters.discord_bot.views import ReplyButtons, buttons_for
from adapters.splitting import split_message
from bot.presentation import source_lines
from bot.types import Message, Reply

if TYPE_CHECKING:
    from bot.adapter import AdapterContext

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 90


def minimal_intents(reads_channels: bool) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = reads_channels
    return intents


def with_sources(reply: Reply) -> str:
    sources = source_lines(reply)
    if not sources:
        return reply.text
    return f"{reply.text}\n\n-# Sources\n" + "\n".join(sources)


class DeskbotClient(discord.Client):
    def __init__(self, context: AdapterContext, **options: Any) -> None:
        settings = context.settings.section(DiscordSettings)
        options.setdefault("intents", minimal_intents(bool(settings.channels)))
        options.setdefault("allowed_mentions", discord.AllowedMentions(everyone=False, roles=False, users=True))
        super().__init__(**options)
        self.responder = context.responder
        self.sync_commands = settings.sync_commands
        self.channels = set(settings.channels)
        self.use_threads = settings.threads
        self.edit_interval_s = settings.edit_interval_s
        self.tree = app_commands.CommandTree(self)
        self._add_slash_commands()
        self.deliveries = QueueConsumer(context, self)

    async def setup_hook(self) -> None:
        await self.responder.warm_up()
        self.add_view(ReplyButtons(self.run_command))
        if self.sync_commands:
            await self.tree.sync()
        self.deliveries.start()

    async def close(self) -> None:
        await self.deliveries.stop()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s (%d servers)", self.user, len(self.guilds))

    async def answer(self, message: Message, stream: StreamedAnswer | None = None) -> Reply:
        return await self.responder.reply(message, stream.add if stream is not None else None)

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or not is_addressed_to_bot(message, self.user, self.channels):
            return
        text = question_text(message)
        if not text:
            return
        try:
            channel = await self._conversation_channel(message, text)
            async with channel.typing():
                stream = StreamedAnswer(channel, self.edit_interval_s)
                reply = await self.answer(to_engine_message(text, message.author, channel), stream)
                if reply.kind != "silent":
                    await stream.finish(with_sources(reply), buttons_for(reply, self.run_command))
        except discord.HTTPException as error:
            log.error("Discord refused the reply in channel %s: HTTP %s", message.channel.id, error.status)

    async def _conversation_channel(self, message: discord.Message, text: str) -> discord.abc.Messageable:
        """A new thread on the message in a server text channel (one per conversation), else the channel itself."""
        if not self.use_threads or not isinstance(message.channel, discord.TextChannel):
            return message.channel
        try:
            return await message.create_thread(name=text[:THREAD_NAME_LIMIT] or "Question", auto_archive_duration=1440)
        except discord.HTTPException as error:
            log.warning(
                "cannot open a thread in channel %s (HTTP %s); answering there", message.channel.id, error.status
            )
            return message.channel

    async def run_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Answer `text` (a command or a question) privately to whoever clicked or typed it."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.answer(to_engine_message(text, interaction.user, interaction.channel))
        await self._follow_up(interaction, reply, ephemeral=True)

    async def _follow_up(self, interaction: discord.Interaction[Any], reply: Reply, ephemeral: bool) -> None:
        pieces = split_message(with_sources(reply), DISCORD_LIMIT) or ["…"]
        buttons = buttons_for(reply, self.run_command)
        for index, piece in enumerate(pieces):
            if index == len(pieces) - 1 and buttons is not None:
                await interaction.followup.send(piece, ephemeral=ephemeral, view=buttons)
            else:
                await interaction.followup.send(piece, ephemeral=ephemeral)

    def _add_slash_commands(self) -> None:
        @self.tree.command(name="ask", description="Ask a question about our products and services.")
        @app_commands.describe(question="Your question")
        async def ask(interaction: discord.Interaction[Any], question: str) -> None:
            await interaction.response.defer(thinking=True)
            reply = await self.answer(to_engine_message(question, interaction.user, interaction.channel))
            await self._follow_up(interaction, reply, ephemeral=False)

        @self.tree.command(name="reset", description="Forget this conversation and start over.")
        async def reset(interaction: discord.Interaction[Any]) -> None:
            await self.run_command(interaction, "/reset")

        @self.tree.command(name="human", description="Talk to a person from our support team.")
        async def human(interaction: discord.Interaction[Any]) -> None:
            await self.run_command(interaction, "/human")
