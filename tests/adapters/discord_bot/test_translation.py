"""Which Discord messages the bot answers, on real discord.Message objects built from recorded gateway payloads."""

import discord

from adapters.discord_bot.translation import (
    conversation_id_for,
    is_addressed_to_bot,
    question_text,
    to_engine_message,
)
from tests.adapters.discord_bot.conftest import BOT_ID, GUILD_ID, HELP_CHANNEL, thread_payload

SAM = {"username": "sam", "public_flags": 0, "id": "1170000000000000001", "discriminator": "0", "avatar": None}


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
    assert conversation_id_for(None, mention.author) == "discord:unknown:1170000000000000001"


def _thread(harness, thread_id: str, owner_id: str) -> discord.Thread:
    """A real `discord.Thread` in the guild, built by discord.py from a THREAD_CREATE-shaped payload."""
    data = thread_payload(thread_id, str(HELP_CHANNEL), owner_id, "Question")
    guild = harness.client.get_guild(int(GUILD_ID))
    return discord.Thread(guild=guild, state=harness.state, data=data)


def test_a_shared_channel_gives_each_user_a_conversation_of_their_own(discord_harness):
    alex = discord_harness.message("discord_message_create_channel.json")
    sam = discord_harness.message("discord_message_create_channel.json", id="1180000000001000004", author=SAM)
    assert isinstance(alex.channel, discord.TextChannel)
    ids = {to_engine_message(question_text(m), m.author, m.channel).conversation_id for m in (alex, sam)}
    assert ids == {f"discord:{HELP_CHANNEL}:1170000000000000002", f"discord:{HELP_CHANNEL}:1170000000000000001"}
    someone_elses = _thread(discord_harness, "1180000000000000700", owner_id=SAM["id"])
    assert conversation_id_for(someone_elses, alex.author) == "discord:1180000000000000700:1170000000000000002"


def test_a_thread_the_bot_opened_is_one_conversation_for_everyone_in_it(discord_harness):
    own = _thread(discord_harness, "1180000000000000600", owner_id=BOT_ID)
    alex = discord_harness.message("discord_message_create_channel.json")
    sam = discord_harness.message("discord_message_create_channel.json", author=SAM)
    assert {conversation_id_for(own, m.author) for m in (alex, sam)} == {"discord:1180000000000000600"}
