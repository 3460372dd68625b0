"""discord.py messages -> engine `Message`s: which messages the bot answers, and which conversation they belong to.

Answered: direct messages, messages that mention the bot, every message in a configured channel, and messages in the
threads the bot opened (one thread per conversation). Ignored: the bot's own messages, other bots, system messages.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import discord

from bot.types import Message

MENTION = re.compile(r"<@!?(\d+)>")
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def is_from_a_bot(message: discord.Message) -> bool:
    """The bot's own messages (and other bots') are never answered: that way lie loops."""
    return message.author.bot or message.webhook_id is not None


def is_addressed_to_bot(message: discord.Message, bot_user: discord.abc.User, channels: Collection[int]) -> bool:
    if is_from_a_bot(message) or message.author.id == bot_user.id or message.type not in ANSWERED_TYPES:
        return False
    channel = message.channel
    if isinstance(channel, discord.DMChannel):
        return True
    if any(user.id == bot_user.id for user in message.mentions):
        return True
    if channel.id in channels:
        return True
    return isinstance(channel, discord.Thread) and channel.owner_id == bot_user.id


def question_text(message: discord.Message) -> str:
    """The message's text without user mentions (the bot's included)."""
    return " ".join(MENTION.sub(" ", message.content).split())


def conversation_id_for(channel: discord.abc.Messageable | discord.abc.GuildChannel | None) -> str:
    """One conversation per thread or DM channel (a plain channel, when threads are off)."""
    return f"discord:{getattr(channel, 'id', 'unknown')}"


def to_engine_message(text: str, author: discord.abc.User, channel: object) -> Message:
    return Message(
        text=text,
        user_id=f"discord:{author.id}",
        conversation_id=conversation_id_for(channel),  # type: ignore[arg-type]
        channel="discord",
    )
