"""Handoff notices through the durable queue: `/human` in a real app queues one, an answer worker POSTs it signed to
a loopback receiver, retries it after a 500, and records it undelivered when the receiver never takes it."""

import json
from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.settings import ServerSettings
from adapters.http.webhook_signing import is_signed
from tests.adapters.http.conftest import answered
from tests.adapters.http.webhook_receiver import Receiver

SECRET = "handoff-secret"


def app_for(runtime, url, secret=SECRET, attempts=8):
    settings = runtime.settings
    settings.conversation.handoff_webhook_url = url
    settings.webhooks.secret = SecretStr(secret) if secret else None
    server = settings.section(ServerSettings)
    server.retry_backoff_s, server.retry_backoff_max_s, server.delivery_attempts = 0.01, 0.05, attempts
    return create_app(build_context(runtime.adapter_context()))


async def ask_for_a_person(app, text="/human my invoice is wrong"):
    context = app.state.deskbot
    key = context.api_keys.create("ci")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
        body = {"message": text, "conversation_id": "c-9", "user_id": "u-9"}
        response = await client.post("/v1/chat", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200 and response.json()["handoff"]
        await answered(context)
        return context, (await client.get("/metrics")).text


async def test_a_handoff_notice_is_signed_and_retried_after_a_500(runtime):
    async with Receiver(statuses=[500]) as receiver:
        app = app_for(runtime, receiver.url)
        async with app.router.lifespan_context(app):
            context, _metrics = await ask_for_a_person(app)
            assert context.deliveries.undelivered() == []
    assert len(receiver.deliveries) == 2, "the 500 was retried"
    headers, body = receiver.deliveries[-1]
    assert is_signed(SECRET, body, {name.title(): value for name, value in headers.items()})
    notice = json.loads(body)
    assert notice["event"] == "handoff" and notice["reason"] == "my invoice is wrong"
    assert notice["conversation_id"] == "api:ci:c-9" and notice["user_id"] == "api:ci:u-9"
    assert notice["channel"] == "api" and "asked for a person" in notice["text"]
    assert datetime.fromisoformat(notice["requested_at"]).tzinfo is not None


async def test_a_receiver_that_never_takes_it_leaves_a_counted_undelivered_record(runtime):
    async with Receiver(statuses=[503, 503]) as receiver:
        app = app_for(runtime, receiver.url, attempts=2)
        async with app.router.lifespan_context(app):
            context, metrics = await ask_for_a_person(app)
            [record] = context.deliveries.undelivered()
    assert record.source == "handoff" and record.attempts == 2 and "HTTP 503" in record.reason
    assert "invoice" not in record.reason, "the customer's reason is not kept with the record"
    assert 'deskbot_undelivered_replies_total{source="handoff"} 1.0' in metrics
    assert len(receiver.deliveries) == 2


async def test_a_4xx_is_given_up_at_once(runtime):
    async with Receiver(statuses=[404]) as receiver:
        app = app_for(runtime, receiver.url)
        async with app.router.lifespan_context(app):
            context, _metrics = await ask_for_a_person(app)
            [record] = context.deliveries.undelivered()
    assert record.attempts == 1 and "HTTP 404" in record.reason and len(receiver.deliveries) == 1


async def test_without_a_webhook_secret_the_notice_is_sent_unsigned_with_a_warning(runtime, caplog):
    async with Receiver() as receiver:
        app = app_for(runtime, receiver.url, secret=None)
        assert "sent unsigned" in caplog.text
        async with app.router.lifespan_context(app):
            await ask_for_a_person(app)
    [(headers, body)] = receiver.deliveries
    assert "x-deskbot-signature" not in {name.lower() for name in headers}
    assert json.loads(body)["event"] == "handoff"


@pytest.mark.parametrize("text", ["What is the returns policy?", "/bot"])
async def test_other_turns_send_no_notice(runtime, text):
    async with Receiver() as receiver:
        app = app_for(runtime, receiver.url)
        async with app.router.lifespan_context(app):
            context = app.state.deskbot
            key = context.api_keys.create("ci")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
                body = {"message": text, "conversation_id": "c-1"}
                await client.post("/v1/chat", json=body, headers={"Authorization": f"Bearer {key}"})
            await answered(context)
    assert receiver.deliveries == []
