"""Operator replies through the durable queue: Slack threads and DMs with the real slack_sdk against the fake Web
API, retried while Slack fails, given up for a channel that does not exist; announced to the outgoing webhooks,
signed, once however often the job is retried; Discord replies left to the Discord client."""

import asyncio
import json

import pytest
from pydantic import SecretStr

from adapters.http.deliveries import DeliveryFailedError
from adapters.http.operator_delivery import DISCORD_SOURCE, SOURCE, queue_operator_reply, slack_target
from adapters.http.settings import ServerSettings
from adapters.http.slack.fake_web_api import Failure, FakeSlackWebApi
from adapters.http.slack.replies import SlackReplies
from adapters.http.slack.translation import SlackTarget
from adapters.http.webhook_signing import is_signed
from tests.adapters.http.conftest import answered
from tests.adapters.http.webhook_receiver import Receiver

WEBHOOK_SECRET = "operator-webhook-secret"


@pytest.fixture
def http_runtime(http_runtime):
    """The app of `conftest`, retrying failed deliveries within milliseconds."""
    server = http_runtime.settings.section(ServerSettings)
    server.retry_backoff_s, server.retry_backoff_max_s = 0.01, 0.05
    return http_runtime


def queue(context, conversation_id, message_id=41, text="Your refund went out today.", operator="Ann"):
    channel = conversation_id.split(":", 1)[0]
    return queue_operator_reply(context.deliveries, conversation_id, channel, message_id, text, operator)


def test_a_slack_conversation_id_says_where_the_reply_goes():
    assert slack_target("slack:T1:C1:1700000000.000100") == SlackTarget("C1", "1700000000.000100")
    assert slack_target("slack:T1:D1") == SlackTarget("D1", None), "a DM: its top level"
    assert slack_target("slack:T1:C1:user-U7") == SlackTarget("U7", None), "a slash command's: the user's DM"
    assert slack_target("slack::C1:1.2") == SlackTarget("C1", "1.2"), "an event without a team id"
    for malformed in ("slack:T1", "slack:T1::1.2", "discord:1", "slack:a:b:c:d"):
        with pytest.raises(DeliveryFailedError) as failure:
            slack_target(malformed)
        assert failure.value.permanent


@pytest.mark.parametrize(
    ("conversation_id", "message_id", "text", "operator"),
    [("slack:T1:C1", 1, "   ", "Ann"), ("slack:T1:C1", 1, "hi", ""), ("no-namespace", 1, "hi", "Ann")],
)
def test_queueing_refuses_what_cannot_be_an_operator_reply(context, conversation_id, message_id, text, operator):
    with pytest.raises(ValueError):
        queue_operator_reply(context.deliveries, conversation_id, "slack", message_id, text, operator)
    assert context.deliveries.waiting() == 0


async def test_a_reply_goes_into_the_slack_thread_labelled_with_the_operator(context, fake_slack):
    assert queue(context, "slack:T1:C1:1700000000.000100", text="Your refund <b>went</b> out today.")
    assert not queue(context, "slack:T1:C1:1700000000.000100"), "the same message is queued once"
    await answered(context)
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "C1" and post.params["thread_ts"] == "1700000000.000100"
    blocks = json.loads(post.params["blocks"]) if isinstance(post.params["blocks"], str) else post.params["blocks"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Your refund <b>went</b> out today.", "emoji": True}
    assert "Ann" in blocks[-1]["elements"][0]["text"] and "person" in blocks[-1]["elements"][0]["text"]
    assert not any(block["type"] == "actions" for block in blocks), "no bot feedback buttons on a person's reply"
    assert context.deliveries.undelivered() == []


async def test_a_slash_command_conversation_gets_the_reply_in_the_users_dm(context, fake_slack):
    queue(context, "slack:T1:C1:user-U7")
    await answered(context)
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == "U7" and "thread_ts" not in post.params


async def test_slack_down_then_back_delivers_the_reply_after_retries(context, fake_slack):
    fake_slack.fail_next("chat.postMessage", Failure(status=503), times=2)
    fake_slack.fail_next("chat.postMessage", Failure(error="internal_error"))
    queue(context, "slack:T1:C1:1700000000.000100")
    await answered(context)
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 4 and posts[-1].params["thread_ts"] == "1700000000.000100"
    assert context.deliveries.undelivered() == [] and context.deliveries.waiting() == 0


async def test_slack_unreachable_then_back_on_its_port_gets_the_reply(context, fake_slack, caplog):
    await fake_slack.stop()  # Slack is down: connections are refused
    queue(context, "slack:T1:C1:1.1")
    for _ in range(500):
        if caplog.text.count("cannot reach Slack") >= 2:
            break
        await asyncio.sleep(0.01)
    assert caplog.text.count("cannot reach Slack") >= 2, "retried while Slack is down"
    back = await FakeSlackWebApi(port=fake_slack.port).start()
    try:
        await answered(context)
        [post] = back.calls_to("chat.postMessage")
        assert post.params["channel"] == "C1" and context.deliveries.undelivered() == []
    finally:
        await back.stop()


@pytest.mark.parametrize(
    ("failure", "permanent"),
    [
        (Failure(status=429, retry_after=0), False),
        (Failure(status=502), False),
        (Failure(error="not_in_channel"), True),
    ],
)
async def test_slacks_refusals_of_an_operator_reply_say_whether_to_retry(fake_slack, failure, permanent):
    replies = SlackReplies("xoxb-test-token", fake_slack.api_url, rate_limit_retries=0)
    fake_slack.fail_next("chat.postMessage", failure)
    try:
        with pytest.raises(DeliveryFailedError) as refused:
            await replies.send_operator_reply(SlackTarget("C1", "1.1"), "hello", "Ann")
        assert refused.value.permanent is permanent
        await replies.send_operator_reply(SlackTarget("C1", "1.1"), "hello", "Ann")  # the next attempt lands
    finally:
        await replies.close()
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_a_channel_that_does_not_exist_is_given_up_and_recorded_undelivered(app_client, context, fake_slack):
    fake_slack.fail_next("chat.postMessage", Failure(error="channel_not_found"))
    queue(context, "slack:T1:C404:1.1")
    await answered(context)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1, "not retried"
    [record] = context.deliveries.undelivered()
    assert record.source == SOURCE and record.attempts == 1 and "channel_not_found" in record.reason
    assert "Your refund" not in record.reason, "the customer's text is not kept with the record"
    metrics = (await app_client.get("/metrics")).text
    assert 'deskbot_undelivered_replies_total{source="operator"} 1.0' in metrics


async def test_a_job_that_is_not_an_operator_reply_is_given_up(context, fake_slack):
    context.deliveries.submit(SOURCE, "console-1", {"conversation_id": "slack:T1:C1", "text": "no operator"})
    await answered(context)
    [record] = context.deliveries.undelivered()
    assert "not an operator reply" in record.reason and fake_slack.calls == []


async def test_widget_and_api_replies_are_left_for_their_callers_to_fetch(context, fake_slack):
    queue(context, "widget:site:session-1", message_id=1)
    queue(context, "api:ci:c-1", message_id=2)
    queue(context, "webhook:incoming:ext-1", message_id=3)
    queue(context, "carrier:pigeon:1", message_id=4)
    await answered(context)
    assert fake_slack.calls == []
    [record] = context.deliveries.undelivered()
    assert "carrier:pigeon:1" in record.reason, "an id no channel delivers to is given up, the others finished"


async def test_a_discord_reply_is_left_in_the_queue_for_the_discord_client(context):
    queue(context, "discord:1180000000000000500", message_id=7)
    await answered(context)
    [waiting] = context.deliveries.take(10)
    assert waiting.source == DISCORD_SOURCE and waiting.payload["message_id"] == 7
    assert waiting.payload["operator"] == "Ann" and waiting.payload["text"] == "Your refund went out today."


async def test_the_operator_reply_is_announced_signed_once_though_slack_was_retried(http_runtime, fake_slack):
    from adapters.http.app import build_context, create_app

    async with Receiver() as receiver:
        hooks = http_runtime.settings.webhooks
        hooks.secret, hooks.outgoing_urls = SecretStr(WEBHOOK_SECRET), [receiver.url]
        app = create_app(build_context(http_runtime.adapter_context()))
        async with app.router.lifespan_context(app):
            context = app.state.deskbot
            fake_slack.fail_next("chat.postMessage", Failure(status=500), times=2)
            queue(context, "slack:T1:C1:1.1", message_id=41)
            await answered(context)
        assert len(fake_slack.calls_to("chat.postMessage")) == 3
        [(headers, body)] = receiver.deliveries
    assert is_signed(WEBHOOK_SECRET, body, {name.title(): value for name, value in headers.items()})
    assert json.loads(body) == {
        "type": "operator_reply",
        "conversation_id": "slack:T1:C1:1.1",
        "channel": "slack",
        "message_id": 41,
        "text": "Your refund went out today.",
        "operator": "Ann",
    }
