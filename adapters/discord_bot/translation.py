"""discord.py messages -> engine `Message`s: which messages the bot answers, and which conversation they belong to.

Answered: direct messages, messages that mention the bot, every message in a configured channel, and messages in the
threads the bot opened (one thread per conversation). Ignored: the bot's own messages, other bots, system messages.

A DM channel or a thread the bot opened is one conversation. Anywhere else in a server (a channel when threads are
off or cannot be opened, a slash command there, someone else's thread) each user has a conversation of their own, so
one user's `/reset` or `/human` does not silence or reset the bot for everyone in the channel.
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


def _is_own_thread(channel: object) -> bool:
    if not isinstance(channel, discord.Thread):
        return False
    me = channel.guild.me
    return me is not None and channel.owner_id == me.id


def conversation_id_for(channel: object, user: discord.abc.User) -> str:
    """`discord:<channel>` for a DM or a thread the bot opened, else `discord:<channel>:<user>` (module docstring)."""
    channel_id = getattr(channel, "id", "unknown")
    if isinstance(channel, discord.DMChannel) or _is_own_thread(channel):
        return f"discord:{channel_id}"
    return f"discord:{channel_id}:{user.id}"


def to_engine_message(text: str, author: discord.abc.User, channel: object) -> Message:
    return Message(
        text=text,
        user_id=f"discord:{author.id}",
        conversation_id=conversation_id_for(channel, author),
        channel="discord",
    )
