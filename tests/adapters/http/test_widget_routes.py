"""The widget's routes in process: origins and CORS, keys, server-minted sessions, limits, and `/widget.js`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.http.context import ChannelContext
from adapters.http.widget_keys import KEYS as WIDGET_KEYS_TABLE

SITE = "https://help.a.example"
OTHER_SITE = "https://b.example"
QUESTION = "How do I reset my Nimbus Thermo?"


@pytest.fixture
def widget_key(context: ChannelContext) -> str:
    return context.widget_keys.create("site", [SITE], per_session=4, per_day=6)


async def widget_post(
    client: httpx.AsyncClient, path: str, key: str, body: dict[str, object], origin: str | None = SITE
) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    return await client.post(f"/widget/v1/{path}", params={"key": key}, json=body, headers=headers)


async def new_session(client: httpx.AsyncClient, key: str) -> str:
    response = await widget_post(client, "session", key, {})
    assert response.status_code == 200, response.text
    session: str = response.json()["session"]
    return session


def events(body: str) -> list[tuple[str, dict[str, object]]]:
    parsed = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


async def test_a_page_on_the_keys_origin_gets_a_session_and_a_streamed_answer(app_client, widget_key, http_runtime):
    session = await new_session(app_client, widget_key)
    response = await widget_post(app_client, "chat/stream", widget_key, {"session": session, "message": QUESTION})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["content-type"].startswith("text/event-stream")
    received = events(response.text)
    assert {name for name, _ in received[:-1]} == {"delta"}
    name, reply = received[-1]
    assert name == "reply" and reply["citations"] and not reply["abstained"]
    assert "".join(str(data["text"]) for _, data in received[:-1]) == reply["answer"]
    conversation = session.split(".")[0]
    assert reply["conversation_id"] == conversation
    stored = http_runtime.conversations().history(f"widget:site:{conversation}")
    assert [turn.content for turn in stored] == [QUESTION, reply["answer"]]


async def test_the_preflight_of_an_allowed_origin_is_answered_and_others_refused(app_client, widget_key):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = await app_client.options(
        "/widget/v1/chat/stream", params={"key": widget_key}, headers={"Origin": SITE, **preflight}
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    refused = await app_client.options(
        "/widget/v1/chat/stream", params={"key": widget_key}, headers={"Origin": OTHER_SITE, **preflight}
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


async def test_a_key_for_origin_a_is_refused_from_origin_b_and_without_an_origin(app_client, widget_key):
    session = await new_session(app_client, widget_key)
    body = {"session": session, "message": QUESTION}
    for origin in (OTHER_SITE, "https://help.a.example.evil.example", "null"):
        refused = await widget_post(app_client, "chat/stream", widget_key, body, origin=origin)
        assert refused.status_code == 403, origin
        assert "access-control-allow-origin" not in refused.headers
    missing = await widget_post(app_client, "chat/stream", widget_key, body, origin=None)
    assert missing.status_code == 403
    assert "Origin" in missing.json()["detail"]
    assert (await widget_post(app_client, "session", widget_key, {}, origin=OTHER_SITE)).status_code == 403


async def test_unknown_and_revoked_keys_and_api_keys_are_refused(app_client, widget_key, context, api_key):
    session = await new_session(app_client, widget_key)
    body = {"session": session, "message": QUESTION}
    assert (await widget_post(app_client, "chat/stream", "dsw_unknown", body)).status_code == 401
    assert (await widget_post(app_client, "chat/stream", api_key, body)).status_code == 401
    context.widget_keys.revoke("site")
    assert (await widget_post(app_client, "chat/stream", widget_key, body)).status_code == 401
    assert (await widget_post(app_client, "session", widget_key, {})).status_code == 401


async def test_an_expired_key_is_refused(app_client, widget_key, context):
    session = await new_session(app_client, widget_key)
    with context.widget_keys._database.transaction("expire the key") as connection:
        connection.execute(WIDGET_KEYS_TABLE.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    refused = await widget_post(app_client, "chat/stream", widget_key, {"session": session, "message": QUESTION})
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


async def test_a_widget_key_cannot_call_the_api(app_client, widget_key):
    headers = {"Authorization": f"Bearer {widget_key}", "Origin": SITE}
    completions = {"model": "deskbot", "messages": [{"role": "user", "content": QUESTION}]}
    assert (await app_client.post("/v1/chat/completions", json=completions, headers=headers)).status_code == 401
    assert (await app_client.post("/v1/chat", json={"message": QUESTION}, headers=headers)).status_code == 401
    assert (await app_client.post("/v1/chat/stream", json={"message": QUESTION}, headers=headers)).status_code == 401


async def test_a_session_cannot_name_another_sessions_conversation(app_client, widget_key, context):
    first = await new_session(app_client, widget_key)
    second = await new_session(app_client, widget_key)
    handed = await widget_post(app_client, "human", widget_key, {"session": first})
    assert handed.status_code == 200 and handed.json()["handoff"]
    # The second session is still answered by the bot: the first one's handoff is not its conversation.
    answered = await widget_post(app_client, "chat/stream", widget_key, {"session": second, "message": QUESTION})
    assert not events(answered.text)[-1][1]["handoff"]
    # Naming the first session's conversation with a signature of one's own, or none, is refused.
    conversation = first.split(".")[0]
    for forged in (conversation, f"{conversation}.{second.split('.')[1]}", f"{conversation}.x"):
        refused = await widget_post(app_client, "chat/stream", widget_key, {"session": forged, "message": "hi"})
        assert refused.status_code == 401, forged
        assert refused.headers["access-control-allow-origin"] == SITE, "the widget may read it and start again"


async def test_a_session_of_another_key_is_refused(app_client, widget_key, context):
    other_key = context.widget_keys.create("other", [SITE])
    other_session = await new_session(app_client, other_key)
    refused = await widget_post(app_client, "chat/stream", widget_key, {"session": other_session, "message": "hi"})
    assert refused.status_code == 401


async def test_a_flood_from_one_session_is_429_with_retry_after_and_the_day_limit_holds(app_client, widget_key):
    session = await new_session(app_client, widget_key)
    for _ in range(4):  # per_session = 4: chat, rating and handoff all count
        answered = await widget_post(app_client, "feedback", widget_key, {"session": session, "rating": "good"})
        assert answered.status_code == 200
    flooded = await widget_post(app_client, "chat/stream", widget_key, {"session": session, "message": QUESTION})
    assert flooded.status_code == 429
    assert 1 <= int(flooded.headers["retry-after"]) <= 86_401
    assert flooded.headers["access-control-allow-origin"] == SITE
    another = await new_session(app_client, widget_key)
    for _ in range(2):  # per_day = 6 for all sessions
        assert (await widget_post(app_client, "human", widget_key, {"session": another})).status_code == 200
    third = await new_session(app_client, widget_key)
    over_the_day = await widget_post(app_client, "human", widget_key, {"session": third})
    assert over_the_day.status_code == 429
    assert "today" in over_the_day.json()["detail"]


async def test_feedback_rates_the_last_answer_through_the_command_stage(app_client, widget_key):
    session = await new_session(app_client, widget_key)
    await widget_post(app_client, "chat/stream", widget_key, {"session": session, "message": QUESTION})
    rated = await widget_post(app_client, "feedback", widget_key, {"session": session, "rating": "bad"})
    assert rated.status_code == 200
    assert "thank" in rated.json()["answer"].lower()
    bad = await widget_post(app_client, "feedback", widget_key, {"session": session, "rating": "meh"})
    assert bad.status_code == 422


async def test_widget_js_is_small_typed_and_cached(app_client):
    response = await app_client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) < 30_000
    script = response.text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script
    assert "http://" not in script.replace("http://www.w3.org/2000/svg", ""), "no external resources"
    assert "https://" not in script.split("*/", 1)[1], "no external resources"
