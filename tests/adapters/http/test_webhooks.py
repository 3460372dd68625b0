"""Generic signed webhooks: the signature scheme, the incoming endpoint, and outgoing deliveries with retries."""

import asyncio
import json
import time

import pytest
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.deliveries import DeliveryFailedError
from adapters.http.outgoing_webhooks import OutgoingWebhooks
from adapters.http.settings import ServerSettings
from adapters.http.webhook_signing import is_signed, sign, signature_headers
from bot.types import Reply
from tests.adapters.http.conftest import answered, queue_writes
from tests.adapters.http.webhook_receiver import Receiver

SECRET = "webhook-secret"


def test_signature_round_trip_and_replay_window():
    body = b'{"id": "1"}'
    headers = signature_headers(SECRET, body, now=1_700_000_000)
    assert headers["X-Deskbot-Signature"] == sign(SECRET, "1700000000", body)
    assert is_signed(SECRET, body, headers, now=1_700_000_000 + 299)
    assert not is_signed(SECRET, body, headers, now=1_700_000_000 + 301)
    assert not is_signed(SECRET, body + b" ", headers, now=1_700_000_000)
    assert not is_signed("other", body, headers, now=1_700_000_000)
    assert not is_signed(SECRET, body, {}, now=1_700_000_000)


async def test_an_announcement_is_one_signed_post_whose_failures_say_whether_to_retry():
    job = {"url": "", "message": {"text": "hi", "user_id": "u", "conversation_id": "c", "channel": "api"}}
    reply = Reply(text="Hello!", kind="answer", conversation_id="c")
    async with Receiver(statuses=[503, 429, 400, 200]) as receiver:
        hooks = OutgoingWebhooks([receiver.url], SECRET)
        job["url"] = receiver.url
        for permanent in (False, False, True):
            with pytest.raises(DeliveryFailedError) as failure:
                await hooks.post(job, reply)
            assert failure.value.permanent is permanent
        await hooks.post(job, reply)
        await hooks.close()
    headers, body = receiver.deliveries[-1]
    assert is_signed(SECRET, body, {k.title(): v for k, v in headers.items()})
    assert json.loads(body)["reply"]["answer"] == "Hello!" and json.loads(body)["message"]["conversation_id"] == "c"


async def test_an_unreachable_receiver_is_retried_through_the_queue_then_recorded_undelivered(runtime):
    runtime.settings.webhooks.secret = SecretStr(SECRET)
    runtime.settings.webhooks.outgoing_urls = ["http://127.0.0.1:9/hook"]  # the discard port: refused
    server = runtime.settings.section(ServerSettings)
    server.retry_backoff_s, server.delivery_attempts = 0.01, 3
    app = create_app(build_context(runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            context = app.state.deskbot
            key = context.api_keys.create("ci")
            chat = {"message": "How do I reset my Nimbus Thermo?"}
            response = await client.post("/v1/chat", json=chat, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
            await answered(context, 10)
            [record] = context.deliveries.undelivered()
            assert record.source == "outgoing" and "ConnectError" in record.reason
            metrics = (await client.get("/metrics")).text
            assert 'deskbot_undelivered_replies_total{source="outgoing"} 1.0' in metrics


@pytest.fixture
async def webhook_app(runtime):
    async with Receiver() as receiver:
        runtime.settings.webhooks.secret = SecretStr(SECRET)
        runtime.settings.webhooks.outgoing_urls = [receiver.url]
        runtime.settings.section(ServerSettings).retry_backoff_s = 0.01
        app = create_app(build_context(runtime.adapter_context()))
        async with app.router.lifespan_context(app):
            import httpx

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
                yield client, app.state.deskbot, receiver


async def _post_signed(client, payload, secret=SECRET, now=None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signature_headers(secret, body, now=now)}
    return await client.post("/webhooks/incoming", content=body, headers=headers)


async def test_incoming_webhook_is_answered_once_through_outgoing_webhooks(webhook_app):
    client, context, receiver = webhook_app
    payload = {"id": "del-1", "text": "How do I reset my Nimbus Thermo?", "conversation_id": "ext-42"}
    assert (await _post_signed(client, payload)).status_code == 202
    assert (await _post_signed(client, payload)).status_code == 200  # the repeat is acknowledged, not answered
    await answered(context, 10)
    for _ in range(50):
        if receiver.deliveries:
            break
        await asyncio.sleep(0.05)
    [(_headers, body)] = receiver.deliveries
    delivered = json.loads(body)
    assert delivered["type"] == "reply"
    assert delivered["message"]["conversation_id"] == "webhook:incoming:ext-42", "inside the sender's namespace"
    assert delivered["reply"]["answer"]


async def test_with_redact_pii_an_incoming_message_is_queued_redacted(webhook_app):
    client, context, _receiver = webhook_app
    context.settings.guard.redact_pii = True
    payload = {"id": "del-pii", "text": "My card 4111 1111 1111 1111 was charged twice", "conversation_id": "ext-7"}
    with queue_writes(context) as written:
        assert (await _post_signed(client, payload)).status_code == 202
    [job] = written
    assert "[CARD]" in job and "4111" not in job
    await answered(context, 10)


async def test_incoming_webhook_refuses_bad_signatures_and_bodies(webhook_app):
    client, context, receiver = webhook_app
    payload = {"id": "del-2", "text": "hi"}
    assert (await _post_signed(client, payload, secret="wrong")).status_code == 401
    assert (await _post_signed(client, payload, now=time.time() - 600)).status_code == 401
    body = b'{"id": '
    headers = {"Content-Type": "application/json", **signature_headers(SECRET, body)}
    assert (await client.post("/webhooks/incoming", content=body, headers=headers)).status_code == 400
    assert (await _post_signed(client, {"id": "del-3"})).status_code == 422
    await answered(context, 5)
    assert receiver.deliveries == []


async def test_api_replies_are_announced_to_outgoing_webhooks(webhook_app):
    client, context, receiver = webhook_app
    key = context.api_keys.create("hooks")
    await client.post("/v1/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {key}"})
    await answered(context, 10)
    assert len(receiver.deliveries) == 1


async def test_a_signed_webhook_naming_a_slack_thread_gets_a_conversation_of_its_own(webhook_app, runtime):
    client, context, _receiver = webhook_app
    slack_thread = "slack:T123ABC456:C123ABC456:1515449522.000016"
    payload = {"id": "del-takeover", "text": "/human", "conversation_id": slack_thread, "user_id": "slack:U1"}
    assert (await _post_signed(client, payload)).status_code == 202
    await answered(context, 10)
    stored = {record["conversation_id"]: record for record in runtime.conversations().export()}
    assert slack_thread not in stored
    assert stored[f"webhook:incoming:{slack_thread}"]["user_id"] == "webhook:incoming:slack:U1"
