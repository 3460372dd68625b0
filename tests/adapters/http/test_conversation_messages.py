"""`GET /v1/conversations/{id}/messages`: the stored thread with an operator's reply, polled with `after`, and only
for the API key that owns the conversation."""

from datetime import datetime

import pytest


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def thread(app_client, context, api_key, http_runtime):
    """Conversation `c-1` of the `tests` key: a question, the bot's answer, then an operator's reply."""
    chat = {"message": "How do I reset my Nimbus Thermo?", "conversation_id": "c-1", "user_id": "u-1"}
    assert (await app_client.post("/v1/chat", json=chat, headers=bearer(api_key))).status_code == 200
    store = http_runtime.conversations()
    store.append("api:tests:c-1", "api:tests:u-1", "api", "assistant", "I checked: it <b>was</b> reset.", kind="human")
    return app_client


async def test_the_owner_reads_the_thread_with_the_operators_reply(thread, api_key):
    response = await thread.get("/v1/conversations/c-1/messages", headers=bearer(api_key))
    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"] == "c-1" and body["channel"] == "api" and body["handed_off"] is False
    question, answer, human = body["messages"]
    assert question["role"] == "user" and question["text"] == "How do I reset my Nimbus Thermo?"
    assert question["kind"] is None and question["citations"] == []
    assert answer["role"] == "assistant" and answer["kind"] in {"answer", "faq", "composed"} and answer["citations"]
    assert human == {**human, "role": "assistant", "kind": "human", "text": "I checked: it <b>was</b> reset."}
    assert "operator" in human
    assert question["id"] < answer["id"] < human["id"]
    assert datetime.fromisoformat(human["created_at"]).tzinfo is not None


async def test_polling_after_the_last_seen_id_returns_only_newer_messages(thread, api_key):
    url = "/v1/conversations/c-1/messages"
    first = (await thread.get(url, params={"limit": 2}, headers=bearer(api_key))).json()["messages"]
    assert len(first) == 2
    rest = (await thread.get(url, params={"after": first[-1]["id"]}, headers=bearer(api_key))).json()["messages"]
    assert [message["kind"] for message in rest] == ["human"]
    last = rest[-1]["id"]
    assert (await thread.get(url, params={"after": last}, headers=bearer(api_key))).json()["messages"] == []


async def test_another_keys_conversation_is_not_found_like_one_that_does_not_exist(thread, context):
    other = context.api_keys.create("other")
    theirs = await thread.get("/v1/conversations/c-1/messages", headers=bearer(other))
    missing = await thread.get("/v1/conversations/nope/messages", headers=bearer(other))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


async def test_ids_outside_the_callers_namespace_cannot_be_reached(thread, api_key, http_runtime):
    http_runtime.conversations().append("slack:T1:C1", "slack:U1", "slack", "user", "hello")
    for probe in ("slack:T1:C1", "..%2Fslack:T1:C1", "api:tests:c-1"):
        response = await thread.get(f"/v1/conversations/{probe}/messages", headers=bearer(api_key))
        assert response.status_code == 404, probe


async def test_without_a_key_or_with_bad_parameters_it_is_refused(thread, api_key):
    assert (await thread.get("/v1/conversations/c-1/messages")).status_code == 401
    assert (await thread.get("/v1/conversations/c-1/messages", headers=bearer("dsk_wrong"))).status_code == 401
    for params in ({"after": -1}, {"limit": 0}, {"limit": 501}, {"after": "x"}):
        response = await thread.get("/v1/conversations/c-1/messages", params=params, headers=bearer(api_key))
        assert response.status_code == 422, params


async def test_a_handed_off_conversation_says_so(thread, api_key):
    chat = {"message": "/human", "conversation_id": "c-1"}
    assert (await thread.post("/v1/chat", json=chat, headers=bearer(api_key))).status_code == 200
    body = (await thread.get("/v1/conversations/c-1/messages", headers=bearer(api_key))).json()
    assert body["handed_off"] is True
