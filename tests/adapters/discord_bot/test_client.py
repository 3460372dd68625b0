"""DeskbotClient end to end: recorded gateway events in, the REST calls discord.py makes out."""

import pytest

from bot.errors import LLMError
from prompts import PromptLibrary
from tests.adapters.discord_bot.conftest import HELP_CHANNEL


async def test_mention_opens_a_thread_types_and_answers_with_buttons(discord_harness):
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_mention.json"))
    http = discord_harness.http
    [thread] = http.sent("POST", "/channels/1180000000000000010/messages/1180000000001000001/threads")
    assert thread.json["name"] == "How do I reset my Nimbus Thermo?"
    assert http.sent("POST", "/typing")
    posts = [r for r in http.sent("POST") if r.path.endswith("/messages")]
    assert posts and all("/channels/1180000000000000010/" not in r.path for r in posts), "answers go to the thread"
    final = (http.sent("PATCH") or posts)[-1].json
    custom_ids = [c["custom_id"] for row in final["components"] for c in row["components"]]
    assert custom_ids == ["deskbot:feedback:good", "deskbot:feedback:bad", "deskbot:human"]


async def test_gateway_dispatch_reaches_on_message(discord_harness):
    await discord_harness.dispatch("discord_message_create_dm.json")
    posts = discord_harness.http.sent("POST", "/channels/1180000000000000500/messages")
    assert posts, "a DM is answered in the DM channel"
    assert not discord_harness.http.sent("POST", "/threads")


async def test_configured_channel_is_answered_and_own_messages_are_not(discord_harness):
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_own.json"))
    assert discord_harness.http.requests == []
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_channel.json"))
    assert discord_harness.http.sent("POST", f"/channels/{HELP_CHANNEL}/messages/1180000000001000003/threads")


async def test_one_users_human_in_a_shared_channel_leaves_the_bot_answering_the_others(discord_harness, monkeypatch):
    discord_harness.client.use_threads = False  # everyone talks in the configured channel itself
    replies = []
    original = discord_harness.client.answer

    async def spy(message, stream=None):
        replies.append(reply := await original(message, stream))
        return reply

    monkeypatch.setattr(discord_harness.client, "answer", spy)
    sam = {"username": "sam", "public_flags": 0, "id": "1170000000000000001", "discriminator": "0", "avatar": None}
    fixture = "discord_message_create_channel.json"
    await discord_harness.client.on_message(discord_harness.message(fixture, content="/human"))
    await discord_harness.client.on_message(discord_harness.message(fixture, id="1180000000001000004", author=sam))
    await discord_harness.client.on_message(discord_harness.message(fixture, id="1180000000001000005"))
    assert replies[0].kind == "handoff"
    assert replies[1].kind != "silent" and replies[1].text, "another user in the channel still gets answers"
    assert replies[2].kind == "silent", "the user who asked for a person is left to them"


async def test_llm_failure_gets_a_polite_fallback(discord_harness, fake_llm):
    fake_llm.fail_with = LLMError("out of memory")
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_dm.json"))
    texts = [r.json["content"] for r in discord_harness.http.requests if r.json and "content" in r.json]
    assert texts[-1].startswith("Sorry, something went wrong")
    assert not any("out of memory" in text for text in texts)


@pytest.mark.parametrize("status", [403, 429])
async def test_discord_errors_and_rate_limits_are_logged_not_raised(discord_harness, caplog, status):
    discord_harness.http.fail_next("POST", "/messages", status)  # while streaming
    discord_harness.http.fail_next("POST", "/messages", status)  # the final answer
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_dm.json"))
    assert f"streaming to Discord stopped (HTTP {status})" in caplog.text
    assert f"Discord refused the reply in channel 1180000000000000500: HTTP {status}" in caplog.text


async def test_a_refused_streaming_edit_does_not_fail_the_turn(discord_harness, caplog):
    discord_harness.http.fail_next("POST", "/messages", 403)
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_dm.json"))
    [final] = [r for r in discord_harness.http.sent("POST") if r.path.endswith("/messages")][1:]
    assert not final.json["content"].startswith("Sorry"), "the answer, not the error fallback"


async def test_thread_refused_answers_in_the_channel(discord_harness):
    discord_harness.http.fail_next("POST", "/threads", 403)
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_mention.json"))
    assert discord_harness.http.sent("POST", "/channels/1180000000000000010/messages")


async def test_button_click_becomes_a_feedback_command(discord_harness, monkeypatch):
    seen = []
    original = discord_harness.client.answer

    async def spy(message, stream=None):
        seen.append(message)
        return await original(message, stream)

    monkeypatch.setattr(discord_harness.client, "answer", spy)
    await discord_harness.dispatch("discord_interaction_create_button.json")
    assert [m.text for m in seen] == ["/feedback good"]
    assert seen[0].conversation_id == "discord:1180000000000000600"
    paths = [r.path for r in discord_harness.webhooks.requests]
    assert paths[0].endswith("/callback") and any(p.startswith("/webhooks/") for p in paths)


async def test_ask_slash_command_answers_in_a_follow_up(discord_harness, monkeypatch):
    seen = []
    original = discord_harness.client.answer

    async def spy(message, stream=None):
        seen.append(message)
        return await original(message, stream)

    monkeypatch.setattr(discord_harness.client, "answer", spy)
    await discord_harness.dispatch("discord_interaction_create_ask.json")
    assert [m.text for m in seen] == ["What is the returns policy?"]
    follow_ups = [r for r in discord_harness.webhooks.requests if r.path.startswith("/webhooks/")]
    assert follow_ups and follow_ups[-1].json["content"]


def test_intents_are_minimal(runtime):
    from adapters.discord_bot.client import minimal_intents

    intents = minimal_intents(reads_channels=False)
    assert intents.guilds and intents.guild_messages and intents.dm_messages
    assert not intents.message_content and not intents.members and not intents.presences
    assert minimal_intents(reads_channels=True).message_content


def test_discord_adapter_is_an_entry_point(runtime):
    from adapters.discord_bot import DiscordBot

    assert isinstance(runtime.adapter("discord"), DiscordBot)


async def test_a_failing_stage_gives_the_canned_reply_in_discord(exploding_stage, discord_harness):
    await discord_harness.client.on_message(discord_harness.message("discord_message_create_dm.json"))
    texts = [r.json["content"] for r in discord_harness.http.requests if r.json and "content" in r.json]
    assert texts[-1] == PromptLibrary().render("error")
    assert not any(exploding_stage in text for text in texts)
