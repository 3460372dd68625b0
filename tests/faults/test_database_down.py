"""The database goes down under a running app and comes back (issue 16, defect 2), on a real PostgreSQL server.

Down: every route that needs the database answers 503 with `Retry-After` (an API key cannot be checked, good or bad;
a Slack event cannot be queued) and `/readyz` says so. Back on the same port: the same app answers again, with the
conversation it had before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from bot.runtime import Runtime
from tests.adapters.http.conftest import SIGNING_SECRET, SlackSender, fixture
from tests.postgres_server import PostgresServer

QUESTION = {"message": "How do I reset my Nimbus Thermo?", "conversation_id": "c-1"}


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()  # its own server: this test stops it
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
async def client(runtime: Runtime, postgres: PostgresServer) -> AsyncIterator[httpx.AsyncClient]:
    runtime.settings.store.url = postgres.url
    runtime.settings.slack.signing_secret = SecretStr(SIGNING_SECRET)  # the Slack routes, answers not sent
    app = create_app(build_context(runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as http:
            context: ChannelContext = app.state.deskbot
            await asyncio.wait_for(context.responder.engine(), 30)
            http.app = app  # type: ignore[attr-defined]
            yield http


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0


async def test_database_down_is_503_with_retry_after_then_the_same_app_recovers(client, postgres, runtime):
    context: ChannelContext = client.app.state.deskbot
    key = context.api_keys.create("ci")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.post("/v1/chat", json=QUESTION, headers=headers)).status_code == 200
    assert (await client.get("/readyz")).status_code == 200

    postgres.stop()
    assert_retry_later(await client.post("/v1/chat", json=QUESTION, headers=headers))
    assert_retry_later(await client.post("/v1/chat", json=QUESTION, headers={"Authorization": "Bearer dsk_wrong"}))
    async with client.stream("POST", "/v1/chat/stream", json=QUESTION, headers=headers) as stream:
        assert_retry_later(stream)
    ready = await client.get("/readyz")
    assert_retry_later(ready)
    assert ready.json() == {"status": "store unavailable"}
    assert_retry_later(await SlackSender(client).event(fixture("slack_app_mention.json")))
    assert (await client.post("/v1/chat", json=QUESTION)).status_code == 401, "no key: refused without the store"

    postgres.start()
    assert (await client.get("/readyz")).status_code == 200
    again = await client.post("/v1/chat", json=QUESTION, headers=headers)
    assert again.status_code == 200 and again.json()["conversation_id"] == "c-1"
    assert (await SlackSender(client).event(fixture("slack_app_mention.json"))).status_code == 200
    [conversation] = [r for r in runtime.conversations().export() if r["conversation_id"] == "api:ci:c-1"]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"] * 2, "memory from before is kept"
