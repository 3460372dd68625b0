"""Which Discord messages the bot answers, on real discord.Message objects built from recorded gateway payloads."""

import discord

from adapters.discord_bot.translation import (
    conversation_id_for,
    is_addressed_to_bot,
    question_text,
    to_engine_message,
)
from tests.adapters.discord_bot.conftest import HELP_CHANNEL


def test_mention_dm_and_configured_channel_are_answered(discord_harness):
    bot = discord_harness.client.user
    for fixture in ("discord_message_create_mention.json", "discord_message_create_dm.json"):
        assert is_addressed_to_bot(discord_harness.message(fixture), bot, set())
    in_channel = discord_harness.message("discord_message_create_channel.json")
    assert is_addressed_to_bot(in_channel, bot, {HELP_CHANNEL})
    assert not is_addressed_to_bot(in_channel, bot, set())


def test_own_messages_are_ignored(discord_harness):
    own = discord_harness.message("discord_message_create_own.json")
    assert own.author.bot
    assert not is_addressed_to_bot(own, discord_harness.client.user, {HELP_CHANNEL})


def test_dm_is_a_real_dm_channel_and_its_own_conversation(discord_harness):
    dm = discord_harness.message("discord_message_create_dm.json")
    assert isinstance(dm.channel, discord.DMChannel)
    message = to_engine_message(question_text(dm), dm.author, dm.channel)
    assert message.conversation_id == "discord:1180000000000000500"
    assert message.user_id == "discord:1170000000000000001"
    assert message.channel == "discord"


def test_question_text_strips_mentions(discord_harness):
    mention = discord_harness.message("discord_message_create_mention.json")
    assert question_text(mention) == "How do I reset my Nimbus Thermo?"
    assert conversation_id_for(None) == "discord:unknown"
