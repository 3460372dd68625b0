"""Curated answers end to end in process: curate a bad exchange, ask again, get the curated text verbatim (kind
`faq`); edit it and get the new text; delete it and it is no longer served. And the unanswered questions, grouped."""

from __future__ import annotations

import httpx
import pytest

from adapters.http.context import ChannelContext
from bot.config import Settings
from bot.store.conversations import SqlConversationStore
from tests.adapters.http.admin_helpers import CONSOLE_HEADERS, log_in, operator_key

QUESTION = "Can the Nimbus Thermo run on solar power?"
CURATED = "Yes: the Nimbus Sun kit (sold separately) powers the Thermo from a 20 W panel."


@pytest.fixture(autouse=True)
def faq_threshold_for_the_hash_embedder(settings: Settings) -> None:
    """The test embedder (hash-256) scores the question against its two entries here (question, then answer) at
    0.62 and 0.66, where MiniLM scores 0.90 and 0.92 (a paraphrase 0.89) against the default `faq_min_score` of 0.80:
    the test's threshold is the hash embedder's equivalent, not a looser policy."""
    settings.answer.faq_min_score = 0.55


@pytest.fixture
async def console(app_client: httpx.AsyncClient, context: ChannelContext) -> httpx.AsyncClient:
    assert (await log_in(app_client, operator_key(context, "ada"))).status_code == 303
    return app_client


async def ask(client: httpx.AsyncClient, api_key: str, conversation: str) -> tuple[str, str | None]:
    """The answer to QUESTION in a new conversation, and the kind it was stored with."""
    response = await client.post(
        "/v1/chat",
        json={"message": QUESTION, "conversation_id": conversation},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    thread = await client.get("/admin/api/thread", params={"conversation": f"api:tests:{conversation}"})
    return response.json()["answer"], thread.json()["messages"][-1]["kind"]


async def test_a_curated_answer_is_served_verbatim_then_edited_then_removed(console, api_key):
    before, kind = await ask(console, api_key, "first")
    assert before != CURATED and kind != "faq"
    await console.post(
        "/v1/chat",
        json={"message": "/feedback bad", "conversation_id": "first"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    question_id = (await console.get("/admin/api/thread", params={"conversation": "api:tests:first"})).json()[
        "messages"
    ][0]["id"]
    made = await console.post(
        "/admin/api/curated",
        json={"question": QUESTION, "answer": CURATED, "conversation": "api:tests:first", "message_id": question_id},
        headers=CONSOLE_HEADERS,
    )
    assert made.status_code == 201, made.text
    answer_id = made.json()["id"]
    assert made.json()["operator"] == "ada" and made.json()["message_id"] == question_id

    assert await ask(console, api_key, "second") == (CURATED, "faq")

    edited_text = "Yes, with the Nimbus Sun kit; see the kit's manual for the panel."
    edited = await console.put(
        f"/admin/api/curated/{answer_id}", json={"question": QUESTION, "answer": edited_text}, headers=CONSOLE_HEADERS
    )
    assert edited.status_code == 200 and edited.json()["answer"] == edited_text
    assert await ask(console, api_key, "third") == (edited_text, "faq")
    listed = (await console.get("/admin/api/curated")).json()["curated"]
    assert [(a["id"], a["question"], a["answer"]) for a in listed] == [(answer_id, QUESTION, edited_text)]

    removed = await console.delete(f"/admin/api/curated/{answer_id}", headers=CONSOLE_HEADERS)
    assert removed.status_code == 204
    after, kind = await ask(console, api_key, "fourth")
    assert after not in {CURATED, edited_text} and kind != "faq"
    assert (await console.get("/admin/api/curated")).json()["curated"] == []


async def test_curating_checks_what_it_is_given(console, api_key):
    def curate(body: dict[str, object]):
        return console.post("/admin/api/curated", json=body, headers=CONSOLE_HEADERS)

    assert (await curate({"question": "", "answer": "x"})).status_code == 422
    assert (await curate({"question": "q", "answer": "x" * 4001})).status_code == 422
    half = await curate({"question": "q", "answer": "a", "conversation": "api:tests:c"})
    assert half.status_code == 422 and "both" in half.json()["detail"]
    unknown = await curate({"question": "q", "answer": "a", "conversation": "api:tests:c", "message_id": 99})
    assert unknown.status_code == 404
    for method in ("put", "delete"):
        kwargs = {"json": {"question": "q", "answer": "a"}} if method == "put" else {}
        missing = await getattr(console, method)("/admin/api/curated/999", headers=CONSOLE_HEADERS, **kwargs)
        assert missing.status_code == 404


async def test_unanswered_questions_are_grouped_by_similarity(console, context):
    store = SqlConversationStore(context.databases[0])
    asked = [
        ("api:k:1", "How do I pair the Nimbus Thermo with Alexa?", "abstain"),
        ("api:k:2", "how do I pair the Nimbus Thermo with alexa", "abstain"),
        ("api:k:3", "Pair Nimbus Thermo with Alexa, how?", "answer"),
        ("api:k:4", "Where can I download my invoice?", "answer"),
        ("api:k:5", "What is the Nimbus Thermo's price?", "answer"),
    ]
    for conversation, question, kind in asked:
        store.append(conversation, "cust", "api", "user", question)
        store.append(conversation, "cust", "api", "assistant", "a reply", kind=kind)  # type: ignore[arg-type]
    store.rate_last_answer("api:k:3", "cust", "bad")
    store.append("api:k:4", "cust", "api", "user", "/human")
    store.start_handoff("api:k:4", "cust", "api")  # asked by command: the question is the one before it
    response = await console.get("/admin/api/unanswered", params={"threshold": 0.5})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["questions"] == 4, "the answered, unrated price question is not among them"
    sizes = [group["size"] for group in data["groups"]]
    assert sizes == [3, 1]
    alexa, invoice = data["groups"]
    assert {example["why"] for example in alexa["examples"]} == {"abstained", "rated bad"}
    assert {example["conversation"] for example in alexa["examples"]} == {"api:k:1", "api:k:2", "api:k:3"}
    assert invoice["examples"][0]["text"] == "Where can I download my invoice?"
    assert invoice["examples"][0]["why"] == "handed off"
    assert alexa["latest"] >= alexa["examples"][-1]["asked_at"]
    strict = (await console.get("/admin/api/unanswered", params={"threshold": 1.0})).json()
    assert len(strict["groups"]) >= 3, "at the strictest threshold different wordings stay apart"
