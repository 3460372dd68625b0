import json

from sqlalchemy.exc import OperationalError

from bot.store.database import StoreError
from prompts import PromptLibrary


async def test_chat_answers_like_ask_json(app_client, api_key):
    response = await app_client.post(
        "/v1/chat",
        json={"message": "What is the returns policy? How many days do I have to return?", "conversation_id": "c-1"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"answer", "citations", "abstained", "handoff", "conversation_id", "latency_ms"}
    assert body["conversation_id"] == "c-1"
    assert [c["id"] for c in body["citations"]] == ["refund-policy"]  # the passage FakeLLM echoes, nothing else
    assert set(body["citations"][0]) == {"id", "title", "source", "score"}


async def test_chat_needs_a_valid_key(app_client, api_key, context):
    payload = {"message": "hi"}
    assert (await app_client.post("/v1/chat", json=payload)).status_code == 401
    bad = {"Authorization": "Bearer dsk_wrong"}
    assert (await app_client.post("/v1/chat", json=payload, headers=bad)).status_code == 401
    context.api_keys.revoke("tests")
    revoked = {"Authorization": f"Bearer {api_key}"}
    assert (await app_client.post("/v1/chat", json=payload, headers=revoked)).status_code == 401


async def test_malformed_json_is_400_and_invalid_fields_422(app_client, api_key):
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    assert (await app_client.post("/v1/chat", content=b'{"message": ', headers=headers)).status_code == 400
    assert (await app_client.post("/v1/chat", json={"message": ""}, headers=headers)).status_code == 422


async def test_llm_failure_is_a_polite_reply(app_client, api_key, fake_llm):
    from bot.errors import LLMError

    fake_llm.fail_with = LLMError("CUDA out of memory")
    response = await app_client.post(
        "/v1/chat", json={"message": "How do I reset my Nimbus Thermo?"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200
    assert response.json()["answer"].startswith("Sorry, something went wrong")
    assert "CUDA" not in response.text


async def test_unexpected_engine_error_is_a_polite_reply(app_client, api_key, fake_llm):
    fake_llm.fail_with = RuntimeError("boom")
    response = await app_client.post(
        "/v1/chat", json={"message": "How do I reset my Nimbus Thermo?"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200
    assert "boom" not in response.text and response.json()["answer"].startswith("Sorry")


async def test_stream_sends_deltas_then_the_reply(app_client, api_key):
    async with app_client.stream(
        "POST",
        "/v1/chat/stream",
        json={"message": "How do I reset my Nimbus Thermo?"},
        headers={"Authorization": f"Bearer {api_key}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join([chunk async for chunk in response.aiter_text()])
    events = []
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        events.append((name_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))))
    assert events[-1][0] == "reply"
    deltas = "".join(data["text"] for name, data in events if name == "delta")
    assert deltas.strip() == events[-1][1]["answer"]


async def test_a_failing_stage_gives_the_canned_reply_on_chat_and_stream(exploding_stage, app_client, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    canned = PromptLibrary().render("error")
    response = await app_client.post("/v1/chat", json={"message": "Which payment methods?"}, headers=headers)
    assert response.status_code == 200 and response.json()["answer"] == canned
    async with app_client.stream(
        "POST", "/v1/chat/stream", json={"message": "Which payment methods?"}, headers=headers
    ) as stream:
        body = "".join([chunk async for chunk in stream.aiter_text()])
    assert body.rstrip().splitlines()[0] == "event: reply", "the stream ends with the reply event"
    assert canned in body and exploding_stage not in body and exploding_stage not in response.text


async def test_the_caller_gets_its_own_conversation_id_back_on_chat_and_stream(app_client, api_key, runtime):
    headers = {"Authorization": f"Bearer {api_key}"}
    started = (await app_client.post("/v1/chat", json={"message": "Which payment methods?"}, headers=headers)).json()
    assert not started["conversation_id"].startswith("api:"), "a new conversation's id is the caller's, unprefixed"
    payload = {"message": "And refunds?", "conversation_id": started["conversation_id"]}
    async with app_client.stream("POST", "/v1/chat/stream", json=payload, headers=headers) as stream:
        body = "".join([chunk async for chunk in stream.aiter_text()])
    reply = json.loads(body.rstrip().split("\n")[-1].removeprefix("data: "))
    assert reply["conversation_id"] == started["conversation_id"]
    [record] = list(runtime.conversations().export())
    assert record["conversation_id"] == f"api:tests:{started['conversation_id']}" and record["user_id"] == "api:tests"
    assert len(record["messages"]) == 4, "both turns are in the one namespaced conversation"


async def test_ids_longer_than_the_namespace_leaves_room_for_are_422(app_client, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    for field in ("conversation_id", "user_id"):
        response = await app_client.post("/v1/chat", json={"message": "hi", field: "x" * 129}, headers=headers)
        assert response.status_code == 422, field


async def test_a_database_error_checking_the_key_is_503_with_retry_after(app_client, api_key, context, monkeypatch):
    for error in (StoreError("API keys: cannot check an API key (OperationalError)"), OperationalError("x", {}, None)):

        def failing_verify(_key, error=error):
            raise error

        monkeypatch.setattr(context.api_keys, "verify", failing_verify)
        response = await app_client.post("/v1/chat", json={"message": "hi"}, headers={"Authorization": "Bearer dsk_x"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.json() == {"detail": "the database is not answering; retry later"}
