"""Operator replies in Discord: sent by the real client (discord.py objects, REST faked at the request level), and
taken from the durable queue that `deskbot serve` filled."""

import asyncio
import json

import pytest
from pydantic import SecretStr

from adapters.discord_bot.operator_replies import DiscordOperatorReplies, discord_target
from adapters.http.app import build_context, create_app
from adapters.http.deliveries import DeliveryFailedError
from adapters.http.operator_delivery import queue_operator_reply
from adapters.http.webhook_signing import is_signed
from bot.types import Reply
from tests.adapters.discord_bot.conftest import HELP_CHANNEL
from tests.adapters.http.webhook_receiver import Receiver

DM_CHANNEL = "1180000000000000500"
USER = "1170000000000000001"
NOTHING = Reply(text="", kind="silent")


def operator_job(conversation_id, text="Your refund went out today.", message_id=41):
    return {"conversation_id": conversation_id, "channel": "discord", "message_id": message_id, "text": text,
            "operator": "Ann"}  # fmt: skip


def test_a_conversation_id_names_the_channel_and_the_user_to_mention():
    assert discord_target(f"discord:{DM_CHANNEL}") == (int(DM_CHANNEL), None)
    assert discord_target(f"discord:{HELP_CHANNEL}:{USER}") == (HELP_CHANNEL, int(USER))
    for malformed in ("discord:", "discord:abc", f"slack:{DM_CHANNEL}", "discord:1:2:3"):
        with pytest.raises(DeliveryFailedError) as failure:
            discord_target(malformed)
        assert failure.value.permanent


async def test_a_reply_goes_to_the_dm_labelled_with_the_operator(discord_harness):
    await DiscordOperatorReplies(discord_harness.client).deliver(operator_job(f"discord:{DM_CHANNEL}"), NOTHING)
    [post] = discord_harness.http.sent("POST", f"/channels/{DM_CHANNEL}/messages")
    assert post.json["content"] == "Your refund went out today.\n-# Ann, a person on our support team"


async def test_in_a_shared_channel_the_reply_mentions_the_customer_and_long_ones_are_split(discord_harness):
    job = operator_job(f"discord:{HELP_CHANNEL}:{USER}", text="word " * 700)
    await DiscordOperatorReplies(discord_harness.client).deliver(job, NOTHING)
    posts = discord_harness.http.sent("POST", f"/channels/{HELP_CHANNEL}/messages")
    assert len(posts) == 2 and all(len(post.json["content"]) <= 2000 for post in posts)
    assert posts[0].json["content"].startswith(f"<@{USER}> word")
    assert posts[-1].json["content"].endswith("-# Ann, a person on our support team")


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (403, True), (503, False), (429, False)])
async def test_discords_refusals_say_whether_to_retry(discord_harness, status, permanent):
    discord_harness.http.fail_next("POST", f"/channels/{DM_CHANNEL}/messages", status)
    with pytest.raises(DeliveryFailedError) as failure:
        await DiscordOperatorReplies(discord_harness.client).deliver(operator_job(f"discord:{DM_CHANNEL}"), NOTHING)
    assert failure.value.permanent is permanent and f"HTTP {status}" in failure.value.reason


async def test_a_reply_queued_by_serve_is_sent_by_the_discord_client_and_retried_after_a_5xx(discord_harness, runtime):
    # The Discord client's queue was built with the harness: it waits its default 2 s before the retry.
    discord_harness.http.fail_next("POST", f"/channels/{DM_CHANNEL}/messages", 502)
    app = create_app(build_context(runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        context = app.state.deskbot
        queue_operator_reply(context.deliveries, f"discord:{DM_CHANNEL}", "discord", 41, "Back in stock.", "Ann")
        posts = []
        for _ in range(1000):
            posts = discord_harness.http.sent("POST", f"/channels/{DM_CHANNEL}/messages")
            if len(posts) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(posts) == 2, "the serve worker handed it on, the Discord client sent it after one failure"
        assert posts[-1].json["content"].startswith("Back in stock.")
        assert await discord_harness.client.deliveries.worker.settle(5)
        assert context.deliveries.waiting() == 0 and context.deliveries.undelivered() == []


@pytest.fixture
async def handoff_receiver(runtime):
    """A loopback receiver set as the handoff webhook, before the Discord client is built."""
    async with Receiver(statuses=[500]) as receiver:
        runtime.settings.conversation.handoff_webhook_url = receiver.url
        runtime.settings.webhooks.secret = SecretStr("discord-handoff-secret")
        runtime.settings.server.retry_backoff_s = 0.01
        yield receiver


async def test_human_in_discord_sends_a_signed_handoff_notice_retried_after_a_500(handoff_receiver, discord_harness):
    fixture = "discord_message_create_dm.json"
    await discord_harness.client.on_message(discord_harness.message(fixture, content="/human the app crashes"))
    for _ in range(500):
        if len(handoff_receiver.deliveries) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(handoff_receiver.deliveries) == 2, "queued by the Discord process, retried after the 500"
    headers, body = handoff_receiver.deliveries[-1]
    assert is_signed("discord-handoff-secret", body, {name.title(): value for name, value in headers.items()})
    notice = json.loads(body)
    assert notice["event"] == "handoff" and notice["channel"] == "discord"
    assert notice["conversation_id"] == f"discord:{DM_CHANNEL}" and notice["reason"] == "the app crashes"
