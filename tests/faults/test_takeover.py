"""Takeover attempts across principals (issue 16, defect 5): an API key naming another key's conversation or a Slack
thread gets a fresh conversation of its own, and its rate limit holds whatever `user_id` it sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from adapters.http.app import build_context, create_app
from adapters.http.context import ChannelContext
from adapters.http.settings import ServerSettings
from adapters.http.slack.fake_web_api import FakeSlackWebApi
from bot.runtime import Runtime
from tests.adapters.http.conftest import SIGNING_SECRET, SlackSender, answered, fixture

SLACK_THREAD = "slack:T123ABC456:C123ABC456:1515449522.000016"  # the thread of tests/fixtures/slack_app_mention.json


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app with its Slack routes (replies go to a loopback fake of Slack's Web API)."""
    fake_slack = await FakeSlackWebApi().start()
    slack = runtime.settings.slack
    slack.signing_secret, slack.bot_token = SecretStr(SIGNING_SECRET), SecretStr("xoxb-test-token")
    slack.api_url = fake_slack.api_url
    app = create_app(build_context(runtime.adapter_context()))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as http:
                http.app = app  # type: ignore[attr-defined]
                http.fake_slack = fake_slack  # type: ignore[attr-defined]
                yield http
    finally:
        await fake_slack.stop()


def context_of(client: httpx.AsyncClient) -> ChannelContext:
    context: ChannelContext = client.app.state.deskbot  # type: ignore[attr-defined]
    return context


async def chat(client: httpx.AsyncClient, key: str, message: str, **fields: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/chat", json={"message": message, **fields}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stored(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Every stored conversation by id, with its messages."""
    return {record["conversation_id"]: record for record in runtime.conversations().export()}


def texts(record: dict[str, Any]) -> list[str]:
    return [message["content"] for message in record["messages"]]


async def test_another_key_naming_a_conversation_gets_a_fresh_one(client, runtime, fake_llm):
    keys = context_of(client).api_keys
    alice, mallory = keys.create("alice"), keys.create("mallory")
    await chat(client, alice, "My order 4471-XK never arrived, how do returns work?", conversation_id="c-1")

    calls_before = len(fake_llm.calls)
    body = await chat(client, mallory, "How do returns work? Repeat my order number.", conversation_id="c-1")
    assert body["conversation_id"] == "c-1", "the caller gets its own id back"
    assert all("4471-XK" not in m.content for call in fake_llm.calls[calls_before:] for m in call)

    await chat(client, mallory, "/feedback bad", conversation_id="c-1")
    await chat(client, mallory, "/reset", conversation_id="c-1")

    conversations = stored(runtime)
    assert set(conversations) == {"api:alice:c-1", "api:mallory:c-1"}
    assert not any("Repeat my order" in text for text in texts(conversations["api:alice:c-1"]))
    assert not any("4471-XK" in text for text in texts(conversations["api:mallory:c-1"]))
    assert [m["rating"] for m in conversations["api:alice:c-1"]["messages"]] == [None, None], "not rated by mallory"
    assert [m["rating"] for m in conversations["api:mallory:c-1"]["messages"]] == [None, "bad"]
    assert runtime.conversations().history("api:alice:c-1"), "not reset by mallory"


async def test_the_openai_route_keeps_each_key_in_its_own_conversations(client, runtime, fake_llm):
    keys = context_of(client).api_keys
    alice, mallory = keys.create("alice"), keys.create("mallory")
    await chat(client, alice, "My order 4471-XK never arrived, how do returns work?", conversation_id="c-1")

    calls_before = len(fake_llm.calls)
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": "deskbot",
            "messages": [{"role": "user", "content": "How do returns work? Repeat my order number."}],
            "conversation_id": "c-1",
        },
        headers={"Authorization": f"Bearer {mallory}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["conversation_id"] == "c-1", "the caller gets its own id back"
    assert all("4471-XK" not in m.content for call in fake_llm.calls[calls_before:] for m in call)
    assert set(stored(runtime)) == {"api:alice:c-1", "api:mallory:c-1"}


async def test_a_key_cannot_silence_read_or_write_a_slack_thread(client, runtime, fake_llm):
    context = context_of(client)
    slack = SlackSender(client)
    assert (await slack.event(fixture("slack_app_mention.json"))).status_code == 200
    await answered(context)
    assert SLACK_THREAD in stored(runtime)

    mallory = context.api_keys.create("mallory")
    handoff = await chat(client, mallory, "/human", conversation_id=SLACK_THREAD, user_id="slack:U123ABC456")
    assert handoff["conversation_id"] == SLACK_THREAD and handoff["handoff"]
    calls_before = len(fake_llm.calls)
    await chat(client, mallory, "What did I ask about returns?", conversation_id=SLACK_THREAD)
    assert all("returns policy" not in m.content.lower() for call in fake_llm.calls[calls_before:] for m in call)

    store = runtime.conversations()
    assert not store.handed_off(SLACK_THREAD), "the Slack thread is not silenced"
    assert store.handed_off(f"api:mallory:{SLACK_THREAD}"), "the caller's own conversation is"
    conversations = stored(runtime)
    assert not any("What did I ask" in text for text in texts(conversations[SLACK_THREAD]))
    assert conversations[f"api:mallory:{SLACK_THREAD}"]["user_id"] == "api:mallory:slack:U123ABC456"

    follow_up = fixture("slack_app_mention.json")
    follow_up["event_id"], follow_up["event"]["ts"] = "Ev-follow-up", "1515449599.000100"
    follow_up["event"]["thread_ts"] = "1515449522.000016"
    follow_up["event"]["text"] = "<@U0LAN0Z89> And how do I reset my Nimbus Thermo?"
    posted = len(client.fake_slack.calls_to("chat.postMessage"))
    assert (await slack.event(follow_up)).status_code == 200
    await answered(context)
    assert len(client.fake_slack.calls_to("chat.postMessage")) == posted + 1, "the Slack user is still answered"


async def test_the_rate_limit_counts_the_key_whatever_user_id_it_sends(client, runtime):
    context = context_of(client)
    runtime.settings.section(ServerSettings).api_rate_limit_requests = 3
    busy, other = context.api_keys.create("busy"), context.api_keys.create("other")
    for user in ("u1", "u2", "u3"):
        await chat(client, busy, "Which payment methods do you take?", user_id=user)
    refused = await client.post(
        "/v1/chat",
        json={"message": "Which payment methods?", "user_id": "u4"},
        headers={"Authorization": f"Bearer {busy}"},
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    async with client.stream(
        "POST", "/v1/chat/stream", json={"message": "hi", "user_id": "u5"}, headers={"Authorization": f"Bearer {busy}"}
    ) as stream:
        assert stream.status_code == 429
    await chat(client, other, "Which payment methods do you take?", user_id="u1")
