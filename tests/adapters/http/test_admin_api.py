"""The console's JSON API on a real SQLite store: filters and pages, one thread with kinds, sources, scores and
feedback, take over / reply as a person / release (409 once released, 404 when unknown or deleted), the durable
queue's `operator` job, and the widget's history with the person's reply."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.http.context import ChannelContext
from adapters.http.deliveries import NewDelivery
from bot.store.conversations import SqlConversationStore
from tests.adapters.http.admin_helpers import CONSOLE_HEADERS, log_in, operator_key
from tests.adapters.http.conftest import answered

QUESTION = "How do I reset my Nimbus Thermo?"
SITE = "https://help.a.example"


@pytest.fixture
async def console(app_client: httpx.AsyncClient, context: ChannelContext) -> httpx.AsyncClient:
    """The app's client, logged in as the operator `ada`."""
    response = await log_in(app_client, operator_key(context, "ada"))
    assert response.status_code == 303
    return app_client


@pytest.fixture
def store(context: ChannelContext) -> SqlConversationStore:
    return SqlConversationStore(context.databases[0])


async def post(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> httpx.Response:
    return await client.post(f"/admin/api/{path}", json=body, headers=CONSOLE_HEADERS)


async def chat(client: httpx.AsyncClient, api_key: str, message: str, conversation: str = "c-1") -> dict[str, object]:
    response = await client.post(
        "/v1/chat",
        json={"message": message, "conversation_id": conversation, "user_id": "cust"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()
    return reply


def record_submits(context: ChannelContext, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, object]]:
    """Every job queued on the delivery queue from now on (source, delivery id, payload); each is queued too."""
    submitted: list[tuple[str, str, object]] = []
    submit_many = context.deliveries.submit_many

    def recording(batch: Sequence[NewDelivery]) -> list[bool]:
        for delivery in batch:
            submitted.append((delivery.source, delivery.delivery_id, json.loads(delivery.stored_payload)))
        return submit_many(batch)

    monkeypatch.setattr(context.deliveries, "submit_many", recording)
    return submitted


def exchange(store: SqlConversationStore, conversation: str, question: str, kind: str, channel: str = "api") -> None:
    store.append(conversation, "cust", channel, "user", question)
    store.append(conversation, "cust", channel, "assistant", f"reply to {question}", kind=kind)  # type: ignore[arg-type]


async def listed(client: httpx.AsyncClient, **query: object) -> list[str]:
    response = await client.get("/admin/api/conversations", params=query)
    assert response.status_code == 200, response.text
    return [conversation["id"] for conversation in response.json()["conversations"]]


async def test_conversations_are_filtered_and_paged_newest_first(console, store):
    exchange(store, "api:k:abstained", "Do you ship to Mars?", "abstain")
    exchange(store, "api:k:rated", "Where is my parcel?", "answer")
    store.rate_last_answer("api:k:rated", "cust", "bad", "not helpful")
    exchange(store, "api:k:handed", "Can I speak to someone?", "answer")
    store.start_handoff("api:k:handed", "cust", "api")
    exchange(store, "widget:site:s1", "What is the warranty on the <b>Thermo</b>?", "answer", channel="widget")
    newest_first = ["widget:site:s1", "api:k:handed", "api:k:rated", "api:k:abstained"]
    assert await listed(console) == newest_first
    assert await listed(console, abstained="true") == ["api:k:abstained"]
    assert await listed(console, rated_bad="true") == ["api:k:rated"]
    assert await listed(console, handed_off="true") == ["api:k:handed"]
    assert await listed(console, channel="widget") == ["widget:site:s1"]
    assert await listed(console, q="WARRANTY") == ["widget:site:s1"], "text search ignores case"
    assert await listed(console, q="100%") == [], "% is a character, not a wildcard"
    assert await listed(console, abstained="true", channel="widget") == []
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await listed(console, since=tomorrow) == []
    assert await listed(console, until=tomorrow) == newest_first
    first = (await console.get("/admin/api/conversations", params={"per_page": 3})).json()
    assert [c["id"] for c in first["conversations"]] == newest_first[:3] and first["total"] == 4
    second = await listed(console, per_page=3, page=2)
    assert second == newest_first[3:]
    summary = first["conversations"][1]
    assert summary["with_person"] and summary["handed_off"] and summary["last_question"] == "Can I speak to someone?"
    assert (await console.get("/admin/api/conversations", params={"per_page": 1000})).status_code == 422


async def test_a_thread_shows_each_reply_with_its_kind_sources_score_latency_and_feedback(console, api_key, context):
    reply = await chat(console, api_key, QUESTION)
    rated = await chat(console, api_key, "/feedback bad the steps did not work")
    assert "Thank" in str(rated["answer"])
    response = await console.get("/admin/api/thread", params={"conversation": "api:tests:c-1"})
    assert response.status_code == 200
    data = response.json()
    assert data["conversation"]["channel"] == "api" and data["conversation"]["rated_bad"]
    question, answer = data["messages"]
    assert (question["role"], question["text"], question["kind"]) == ("user", QUESTION, None)
    assert answer["role"] == "assistant" and answer["text"] == reply["answer"] and answer["kind"] == "answer"
    assert answer["retrieval_score"] > 0 and answer["latency_ms"] > 0
    cited = reply["citations"]
    assert [(c["id"], c["title"], c["source"]) for c in answer["citations"]] == [
        (c["id"], c["title"], c["source"])
        for c in cited  # type: ignore[attr-defined]
    ]
    assert [(f["rating"], f["text"]) for f in answer["feedback"]] == [("bad", "the steps did not work")]
    missing = await console.get("/admin/api/thread", params={"conversation": "api:tests:nope"})
    assert missing.status_code == 404


async def test_take_over_reply_as_a_person_and_release(console, api_key, context, store, monkeypatch):
    await chat(console, api_key, QUESTION)
    conversation = "api:tests:c-1"
    taken = await post(console, "take-over", {"conversation": conversation})
    assert taken.status_code == 200 and taken.json()["changed"]
    silent = await chat(console, api_key, "Hello? Is anyone there?")
    assert silent["answer"] == "" and silent["handoff"], "the bot is silent while a person holds it"
    submitted = record_submits(context, monkeypatch)
    replied = await post(console, "reply", {"conversation": conversation, "text": "Hi, Ada here: <b>try</b> this."})
    assert replied.status_code == 200 and replied.json()["queued"]
    message_id = replied.json()["message_id"]
    assert submitted == [
        (
            "operator",
            f"message:{message_id}",
            {
                "conversation_id": conversation,
                "channel": "api",
                "message_id": message_id,
                "text": "Hi, Ada here: <b>try</b> this.",
                "operator": "ada",
            },
        )
    ]
    await answered(context)  # the queued job is settled (by its handler, or given up without one): nothing breaks
    thread = (await console.get("/admin/api/thread", params={"conversation": conversation})).json()
    human = thread["messages"][-1]
    assert (human["role"], human["kind"], human["operator"], human["id"]) == ("assistant", "human", "ada", message_id)
    assert "Hello? Is anyone there?" in [m["text"] for m in thread["messages"]], "the customer's message is kept"
    released = await post(console, "release", {"conversation": conversation})
    assert released.status_code == 200 and released.json()["changed"]
    late = await post(console, "reply", {"conversation": conversation, "text": "one more thing"})
    assert late.status_code == 409 and "with the bot" in late.json()["detail"]
    again = await chat(console, api_key, QUESTION)
    assert again["answer"], "released: the bot answers again"


async def test_a_reply_to_an_unknown_or_deleted_conversation_is_404(console, store):
    exchange(store, "api:k:old", "Do you ship to Mars?", "abstain")
    store.start_handoff("api:k:old", "cust", "api")
    store.purge(datetime.now(UTC) + timedelta(seconds=1))  # deleted, as retention deletes it
    for conversation in ("api:k:old", "api:k:never"):
        for path, body in (("reply", {"text": "hello"}), ("take-over", {}), ("release", {})):
            response = await post(console, path, {"conversation": conversation, **body})
            assert response.status_code == 404, (path, conversation)
            assert conversation in response.json()["detail"]


async def test_an_empty_or_oversized_reply_is_422(console, store):
    exchange(store, "api:k:c", "Do you ship to Mars?", "abstain")
    await post(console, "take-over", {"conversation": "api:k:c"})
    assert (await post(console, "reply", {"conversation": "api:k:c", "text": ""})).status_code == 422
    assert (await post(console, "reply", {"conversation": "api:k:c", "text": "x" * 4001})).status_code == 422


async def test_a_widget_conversations_person_reply_is_not_queued_but_shown_by_the_widgets_history(
    console, context, monkeypatch
):
    widget_key = context.widget_keys.create("site", [SITE])
    params = {"key": widget_key}
    session = (await console.post("/widget/v1/session", params=params, headers={"Origin": SITE})).json()["session"]
    streamed = await console.post(
        "/widget/v1/chat/stream",
        params=params,
        json={"session": session, "message": QUESTION},
        headers={"Origin": SITE},
    )
    assert streamed.status_code == 200
    await console.post("/widget/v1/human", params=params, json={"session": session}, headers={"Origin": SITE})
    conversation = "widget:site:" + session.split(".")[0]
    history = await console.get("/widget/v1/messages", params={**params, "session": session}, headers={"Origin": SITE})
    assert history.status_code == 200 and history.headers["access-control-allow-origin"] == SITE
    before = history.json()
    assert before["with_person"] and [m["role"] for m in before["messages"]] == ["user", "bot"]
    assert before["messages"][1]["citations"] and before["messages"][1]["ratable"]
    submitted = record_submits(context, monkeypatch)
    replied = await post(console, "reply", {"conversation": conversation, "text": "A person here."})
    assert replied.status_code == 200 and not replied.json()["queued"] and submitted == []
    newer = await console.get(
        "/widget/v1/messages",
        params={**params, "session": session, "after": before["messages"][-1]["id"]},
        headers={"Origin": SITE},
    )
    (person,) = newer.json()["messages"]
    assert person["text"] == "A person here." and person["from_person"] and person["role"] == "bot"
    assert not person["ratable"]


async def test_the_widgets_history_checks_origin_key_and_session(console, context):
    widget_key = context.widget_keys.create("site", [SITE])
    session = (await console.post("/widget/v1/session", params={"key": widget_key}, headers={"Origin": SITE})).json()
    params = {"key": widget_key, "session": session["session"]}
    assert (await console.get("/widget/v1/messages", params=params)).status_code == 403
    other = await console.get("/widget/v1/messages", params=params, headers={"Origin": "https://b.example"})
    assert other.status_code == 403
    forged = await console.get("/widget/v1/messages", params={**params, "session": "made.up"}, headers={"Origin": SITE})
    assert forged.status_code == 401
    fresh = await console.get("/widget/v1/messages", params=params, headers={"Origin": SITE})
    assert fresh.json() == {"messages": [], "with_person": False}
