"""Defect 4: the Slack Web API is down after the event was acknowledged. The reply is retried with backoff through
the durable queue and arrives once Slack is back; an outage longer than the attempts ends in a recorded, counted
undelivered reply. Never a silent drop, and the engine answers once however many times the reply is sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from adapters.http.slack.fake_web_api import Failure, FakeSlackWebApi
from bot.runtime import Runtime
from bot.types import Message, Reply
from tests.adapters.http.conftest import SIGNING_SECRET, SlackSender, answered, fixture

SLACK_DOWN_S = 10.0


@pytest.fixture
async def app(runtime: Runtime, fake_slack: FakeSlackWebApi) -> AsyncIterator[httpx.AsyncClient]:
    settings = runtime.settings
    settings.slack.signing_secret = SecretStr(SIGNING_SECRET)
    settings.slack.bot_token = SecretStr("xoxb-test-token")
    settings.slack.api_url = fake_slack.api_url
    settings.server.retry_backoff_s = 0.5
    settings.server.retry_backoff_max_s = 2.0
    settings.server.delivery_attempts = 12
    application = create_app(build_context(runtime.adapter_context()))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            client.app = application  # type: ignore[attr-defined]
            yield client


def channel_context(client: httpx.AsyncClient) -> ChannelContext:
    context: ChannelContext = client.app.state.deskbot  # type: ignore[attr-defined]
    return context


def engine_replies(context: ChannelContext) -> list[Reply]:
    replies: list[Reply] = []

    def listen(_message: Message, reply: Reply) -> None:
        replies.append(reply)

    context.responder.listen(listen)
    return replies


@pytest.mark.slow
async def test_a_reply_acknowledged_while_slack_is_down_arrives_once_slack_is_back(app, fake_slack):
    context = channel_context(app)
    replies = engine_replies(context)
    await context.responder.warm_up()
    await fake_slack.stop()  # connection refused from now on
    acknowledged = await SlackSender(app).event(fixture("slack_app_mention.json"))
    assert acknowledged.status_code == 200
    await asyncio.sleep(SLACK_DOWN_S)
    assert context.deliveries.waiting() == 1, "the undelivered reply waits in the queue"
    await fake_slack.start()  # same port: Slack is back
    back_at = time.monotonic()
    [call] = await fake_slack.wait_for_calls(1, timeout_s=10.0)
    assert call.method == "chat.postMessage" and call.received_at >= back_at
    assert call.params["thread_ts"] == "1515449522.000016"
    await answered(context, 5.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(replies) == 1, "the engine answered once; the retries re-sent its reply"
    assert context.deliveries.undelivered() == []


async def test_slack_down_longer_than_the_attempts_is_recorded_undelivered_and_counted(app, fake_slack):
    context = channel_context(app)
    context.deliveries._max_attempts = 3  # set here rather than in the fixture: the others keep their 12
    fake_slack.fail_next("chat.postMessage", Failure(status=503), times=100)
    replies = engine_replies(context)
    acknowledged = await SlackSender(app).event(fixture("slack_app_mention.json"))
    assert acknowledged.status_code == 200
    await answered(context, 15.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 3 and len(replies) == 1
    [record] = context.deliveries.undelivered()
    assert (record.source, record.attempts) == ("slack", 3) and "HTTP 503" in record.reason
    metrics = (await app.get("/metrics")).text
    assert 'deskbot_undelivered_replies_total{source="slack"} 1.0' in metrics


async def test_a_reply_slack_will_never_take_is_recorded_undelivered_at_once(app, fake_slack):
    context = channel_context(app)
    fake_slack.fail_next("chat.postMessage", Failure(error="channel_not_found"))
    assert (await SlackSender(app).event(fixture("slack_app_mention.json"))).status_code == 200
    await answered(context, 10.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert [record.reason for record in context.deliveries.undelivered()] == [
        "Slack refused the reply in C123ABC456: channel_not_found (HTTP 200)"
    ]
