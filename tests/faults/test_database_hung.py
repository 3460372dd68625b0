"""The database hangs under a running app and comes back (issue 16, defect 2), on a real PostgreSQL server: it still
accepts connections and never answers (its processes stopped with SIGSTOP), or a table the routes need is locked by
another session.

Hung: the routes answer 503 with `Retry-After` within the store's bounds (`[store] connect_timeout_s`,
`statement_timeout_s`, `lock_timeout_s`) instead of waiting for ever, and `/readyz` says the store is unavailable.
Back: the same app answers again, and a Slack event acknowledged before the hang is answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from adapters.http.slack.fake_web_api import FakeSlackWebApi
from bot.runtime import Runtime
from tests.adapters.http.conftest import SIGNING_SECRET, SlackSender, answered, fixture
from tests.postgres_server import PostgresServer

QUESTION = {"message": "How do I reset my Nimbus Thermo?", "conversation_id": "c-1"}
CONNECT_S, STATEMENT_S, LOCK_S = 2.0, 1.0, 1.0
BOUND_S = STATEMENT_S + 1 + CONNECT_S + 1.5  # a cut pooled connection, a new one that cannot connect, slack


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()  # its own server: this test stops its processes
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
async def client(
    runtime: Runtime, postgres: PostgresServer, fake_slack: FakeSlackWebApi
) -> AsyncIterator[httpx.AsyncClient]:
    settings = runtime.settings
    settings.store.url = postgres.url
    settings.store.connect_timeout_s = CONNECT_S
    settings.store.statement_timeout_s = STATEMENT_S
    settings.store.lock_timeout_s = LOCK_S
    settings.slack.signing_secret = SecretStr(SIGNING_SECRET)
    settings.slack.bot_token = SecretStr("xoxb-test-token")
    settings.slack.api_url = fake_slack.api_url
    settings.server.retry_backoff_s = 0.5
    settings.server.retry_backoff_max_s = 1.0
    settings.server.delivery_attempts = 30
    # An attempt whose retry could not be recorded while the database hung stays taken until its lease ends.
    settings.server.answer_lease_s = 3.0
    app = create_app(build_context(runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as http:
            context: ChannelContext = app.state.deskbot
            await asyncio.wait_for(context.responder.warm_up(), 30)
            http.app = app  # type: ignore[attr-defined]
            yield http


async def answers_in_time(request: asyncio.Future[httpx.Response] | object) -> httpx.Response:
    started = time.monotonic()
    response = await request  # type: ignore[misc]
    took = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert took < BOUND_S, f"503 after {took:.1f}s, over the bound of {BOUND_S}s"
    return response


@pytest.mark.slow
async def test_a_stopped_database_is_503_within_the_bound_then_the_app_recovers(client, postgres, fake_slack):
    context: ChannelContext = client.app.state.deskbot
    key = context.api_keys.create("ci")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.post("/v1/chat", json=QUESTION, headers=headers)).status_code == 200
    await fake_slack.stop()  # the reply to this event cannot be sent before the database hangs
    assert (await SlackSender(client).event(fixture("slack_app_mention.json"))).status_code == 200

    postgres.freeze()
    try:
        await answers_in_time(client.post("/v1/chat", json=QUESTION, headers=headers))
        await answers_in_time(client.post("/v1/chat", json=QUESTION, headers={"Authorization": "Bearer dsk_wrong"}))
        ready = await answers_in_time(client.get("/readyz"))
        assert ready.json() == {"status": "store unavailable"}
        during = {**fixture("slack_app_mention.json"), "event_id": "Ev-during-the-hang"}
        await answers_in_time(SlackSender(client).event(during))
    finally:
        postgres.thaw()

    await fake_slack.start()
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.post("/v1/chat", json=QUESTION, headers=headers)).status_code == 200
    [call] = await fake_slack.wait_for_calls(1, timeout_s=20.0)
    assert call.params["thread_ts"] == "1515449522.000016", "the event acknowledged before the hang is answered"
    await answered(context, 10.0)


@pytest.mark.slow
async def test_a_locked_table_is_503_within_the_lock_timeout_then_served_again(client, postgres):
    context: ChannelContext = client.app.state.deskbot
    key = context.api_keys.create("ci")
    headers = {"Authorization": f"Bearer {key}"}
    holder = create_engine(postgres.url)
    try:
        with holder.connect() as session:
            session.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")  # held until this rolls back
            started = time.monotonic()
            await answers_in_time(client.post("/v1/chat", json=QUESTION, headers=headers))
            assert time.monotonic() - started < LOCK_S + 1.5, "the lock wait ends at lock_timeout"
            session.rollback()
        assert (await client.post("/v1/chat", json=QUESTION, headers=headers)).status_code == 200
    finally:
        holder.dispose()
