import asyncio
import gc
import sys
import time

import pytest

from adapters.http import health_routes
from adapters.http.app import build_context
from adapters.http.metrics import Metrics
from bot.store.database import StoreError
from bot.types import Reply


async def test_healthz(app_client):
    response = await app_client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_turns_ready_once_models_are_loaded(app_client, context):
    await asyncio.wait_for(context.responder.engine(), 30)
    response = await app_client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_readyz_is_503_while_loading(app_client, context, monkeypatch):
    monkeypatch.setattr(type(context.responder), "ready", property(lambda _self: False))
    response = await app_client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "loading"


async def test_metrics_count_requests_replies_and_tokens(app_client, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    for _ in range(2):
        await app_client.post("/v1/chat", json={"message": "How do I reset my Nimbus Thermo?"}, headers=headers)
    response = await app_client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'deskbot_http_requests_total{method="POST",route="/v1/chat",status="200"} 2.0' in text
    assert 'deskbot_http_request_duration_seconds_bucket{le="0.05",route="/v1/chat"}' in text
    assert 'deskbot_replies_total{channel="api",kind="answer"} 2.0' in text
    assert 'deskbot_reply_tokens_total{channel="api"}' in text


def test_metrics_record_abstentions_and_handoffs():
    metrics = Metrics()
    metrics.record_reply("slack", Reply(text="I don't know", abstained=True, kind="abstain"))
    metrics.record_reply("slack", Reply(text="A person will answer", handoff=True, kind="handoff"))
    text = metrics.render().decode()
    assert 'deskbot_abstentions_total{channel="slack"} 1.0' in text
    assert 'deskbot_handoffs_total{channel="slack"} 1.0' in text
    assert 'deskbot_reply_tokens_total{channel="slack"} 7.0' in text


def test_metrics_count_replies_that_replaced_a_failed_one():
    metrics = Metrics()
    metrics.record_reply("api", Reply(text="It takes a CR2032.", kind="composed", corrected=True))
    metrics.record_reply("api", Reply(text="It takes a CR2032.", kind="composed"))
    text = metrics.render().decode()
    assert 'deskbot_corrected_replies_total{channel="api",kind="composed"} 1.0' in text


async def test_openapi_docs_list_the_routes(app_client):
    schema = (await app_client.get("/openapi.json")).json()
    for path in ("/v1/chat", "/v1/chat/stream", "/slack/events", "/slack/commands", "/slack/interactions"):
        assert path in schema["paths"]
    assert (await app_client.get("/docs")).status_code == 200


async def test_a_context_that_owns_its_process_freezes_what_it_loaded(runtime):
    # A `deskbot serve` process keeps its models for life: frozen, full collections stop walking them (~100 ms each).
    context = build_context(runtime.adapter_context(), owns_process=True)
    try:
        await context.responder.engine()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        context.close()


def test_a_context_that_owns_its_process_sets_the_switch_interval(runtime):
    runtime.settings.server.switch_interval_ms = 2.0
    default = sys.getswitchinterval()
    try:
        build_context(runtime.adapter_context(), owns_process=True).close()
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(default)
    build_context(runtime.adapter_context()).close()
    assert sys.getswitchinterval() == default, "a context sharing its process leaves the interpreter alone"


async def test_a_context_sharing_its_process_leaves_the_collector_alone(runtime):
    context = build_context(runtime.adapter_context())
    await context.responder.engine()
    assert gc.get_freeze_count() == 0
    context.close()


async def test_readyz_is_503_while_a_database_does_not_answer(app_client, context, monkeypatch):
    await asyncio.wait_for(context.responder.engine(), 30)
    assert len(context.databases) == 2, "the store and, beside the SQLite store, the delivery queue"
    queue = context.databases[1]

    def unreachable() -> None:
        raise StoreError("cannot reach the database (OperationalError)")

    monkeypatch.setattr(queue, "check", unreachable)
    response = await app_client.get("/readyz")
    assert response.status_code == 503 and response.json() == {"status": "store unavailable"}
    assert response.headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert (await app_client.get("/readyz")).status_code == 200


async def test_readyz_does_not_wait_for_a_database_that_hangs(app_client, context, monkeypatch):
    await asyncio.wait_for(context.responder.engine(), 30)
    monkeypatch.setattr(health_routes, "STORE_CHECK_TIMEOUT_S", 0.1)
    monkeypatch.setattr(context.databases[0], "check", lambda: time.sleep(1.0))
    started = time.perf_counter()
    response = await app_client.get("/readyz")
    assert response.status_code == 503 and time.perf_counter() - started < 0.9
