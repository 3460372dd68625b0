"""An HTTP app on the fast runtime (HashEmbedder + FakeLLM), a fake Slack Web API on loopback, and signing helpers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, event

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from adapters.http.slack.fake_web_api import FakeSlackWebApi
from bot.runtime import Runtime

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def slack_headers(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send: its real signature scheme, through slack_sdk's own signer."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


class SlackSender:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, path: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **slack_headers(body), **headers}
        return await self.client.post(path, content=body, headers=all_headers)

    async def event(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.post("/slack/events", json_body(payload), "application/json", **headers)

    async def command(self, fields: dict[str, str]) -> httpx.Response:
        return await self.post("/slack/commands", form_body(fields), "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        body = form_body({"payload": json.dumps(payload)})
        return await self.post("/slack/interactions", body, "application/x-www-form-urlencoded")


async def answered(context: ChannelContext, timeout_s: float = 10.0) -> None:
    """Wait until every queued delivery is answered and every outgoing webhook delivered."""
    assert context.worker is not None, "the app has no answer worker of its own"
    assert await context.worker.settle(timeout_s), f"deliveries still unanswered after {timeout_s}s"
    await context.background.drain(timeout_s)  # a reply's outgoing webhooks are queued in the background...
    assert await context.worker.settle(timeout_s), f"outgoing webhooks still undelivered after {timeout_s}s"


@contextmanager
def queue_writes(context: ChannelContext) -> Iterator[list[str]]:
    """The values of every job written to the answer queue's database while inside, as text (through any of its
    connection pools: acknowledgements write through one of their own, `Database.write_first_in_line`)."""
    url = context.deliveries._database.engine.url
    written: list[str] = []

    def record(connection: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if connection.engine.url == url and statement.lstrip().upper().startswith("INSERT INTO ANSWER_JOBS"):
            written.append(str(parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield written
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture
def http_runtime(runtime: Runtime, fake_slack: FakeSlackWebApi) -> Runtime:
    slack = runtime.settings.slack
    slack.signing_secret = SecretStr(SIGNING_SECRET)
    slack.bot_token = SecretStr("xoxb-test-token")
    slack.api_url = fake_slack.api_url
    return runtime


@pytest.fixture
async def app_client(http_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(build_context(http_runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def context(app_client: httpx.AsyncClient) -> ChannelContext:
    ctx: ChannelContext = app_client.app.state.deskbot  # type: ignore[attr-defined]
    return ctx


@pytest.fixture
def slack(app_client: httpx.AsyncClient) -> SlackSender:
    return SlackSender(app_client)


@pytest.fixture
def api_key(context: ChannelContext) -> str:
    return context.api_keys.create("tests")
