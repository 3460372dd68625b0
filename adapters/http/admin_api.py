"""The operator console's JSON API, `/admin/api/*`: every route needs an operator (`adapters.http.admin_auth`).

Reading: `GET conversations` (filters and pages, `bot.store.inbox`), `GET thread?conversation=ID` (every message
with its kind, cited documents' titles and public sources, best retrieval score, latency, feedback),
`GET unanswered` (the customers' unanswered questions grouped by meaning with the knowledge base's embedder,
`bot.question_groups`), `GET curated` (the curated answers), `GET me`.

Acting (`bot.store.operator_actions`): `POST take-over`, `POST reply` and `POST release` take `{"conversation"}`
(the stored id; in the body, since ids hold characters a path cannot); a reply to an unknown or deleted
conversation is 404, to one the bot holds (released, or never handed off) 409. A reply is stored as the assistant's
message of kind `human` with the operator's name, then queued on the durable delivery queue as an `operator` job
(`adapters.http.operator_delivery`: one job per message) for the channel's job handler to deliver;
widget conversations get nothing queued: the widget fetches the reply itself (`GET /widget/v1/messages`).
Curating (`POST curated`, `PUT curated/{id}`, `DELETE curated/{id}`) changes the curated answers and then the
knowledge index (`bot.curation`), so the FAQ stage serves the answer verbatim to the next customer who asks.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from adapters.http.admin_auth import Operator
from adapters.http.admin_console import Console, console
from adapters.http.cited_documents import CitedDocument, cited_documents
from adapters.http.operator_delivery import SOURCE, OperatorReply, delivery_id
from adapters.http.widget_routes import WIDGET_CHANNEL
from bot.curation import CuratedKnowledge
from bot.question_groups import DEFAULT_THRESHOLD, QuestionGroup, group_questions
from bot.store.curated_answers import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, CuratedAnswer
from bot.store.inbox import MAX_PER_PAGE, ConversationSummary, InboxFilter, ThreadMessage
from bot.store.operator_actions import ConversationNotFoundError, ConversationNotHeldError
from knowledge.errors import KnowledgeError

"""The delivery queue's source of operator replies (its job handler delivers them to the channel)."""
MAX_REPLY_CHARS = 4_000

router = APIRouter(
    prefix="/api",
    responses={
        401: {"description": "No valid operator credentials (a session cookie or an operator key)."},
        403: {"description": "A change with the session cookie but without the console's header or origin."},
    },
)
Parts = Annotated[Console, Depends(console)]


class ConversationBody(BaseModel):
    conversation: str = Field(min_length=1, max_length=200, description="The conversation's stored id.")


class ReplyBody(ConversationBody):
    text: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)


class CuratedBody(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)


class CurateBody(CuratedBody):
    conversation: str | None = Field(None, max_length=200, description="The conversation it came from, if any.")
    message_id: int | None = Field(None, description="The customer's message it answers, if any.")


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def summary_json(summary: ConversationSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "channel": summary.channel,
        "user_id": summary.user_id,
        "started_at": _moment(summary.started_at),
        "updated_at": _moment(summary.updated_at),
        "with_person": summary.with_person,
        "messages": summary.messages,
        "last_question": summary.last_question,
        "abstained": summary.abstained,
        "rated_bad": summary.rated_bad,
        "handed_off": summary.handed_off,
    }


def message_json(message: ThreadMessage, documents: dict[str, CitedDocument]) -> dict[str, Any]:
    citations = []
    for doc_id in message.citations:
        document = documents.get(doc_id)
        citations.append(
            {
                "id": doc_id,
                "title": document.title if document else doc_id,
                "source": document.source if document else "",
            }
        )
    return {
        "id": message.id,
        "role": message.role,
        "text": message.content,
        "kind": message.kind,
        "created_at": _moment(message.created_at),
        "citations": citations,
        "retrieval_score": message.retrieval_score,
        "latency_ms": message.latency_ms,
        "operator": message.operator,
        "feedback": [
            {"rating": f.rating, "text": f.text, "created_at": _moment(f.created_at)} for f in message.feedback
        ],
    }


def curated_json(answer: CuratedAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "question": answer.question,
        "answer": answer.answer,
        "operator": answer.operator,
        "conversation": answer.conversation_id,
        "message_id": answer.message_id,
        "created_at": _moment(answer.created_at),
        "updated_at": _moment(answer.updated_at),
    }


def group_json(group: QuestionGroup) -> dict[str, Any]:
    return {
        "size": group.size,
        "latest": _moment(group.latest),
        "examples": [
            {
                "text": question.text,
                "conversation": question.conversation_id,
                "message_id": question.message_id,
                "asked_at": _moment(question.asked_at),
                "why": question.why,
            }
            for question in group.examples()
        ],
    }


@router.get("/me")
async def me(name: Operator) -> dict[str, str]:
    """The operator logged in."""
    return {"operator": name}


@router.get("/conversations")
async def conversations(
    _operator: Operator,
    parts: Parts,
    abstained: bool = False,
    rated_bad: bool = False,
    handed_off: bool = False,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text a message contains.")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> dict[str, Any]:
    """Conversations matching every filter given, newest activity first, one page at a time."""
    filters = InboxFilter(abstained, rated_bad, handed_off, channel or None, since, until, (q or "").strip() or None)
    found = await asyncio.to_thread(parts.inbox.conversations, filters, page, per_page)
    return {
        "conversations": [summary_json(summary) for summary in found.conversations],
        "page": found.page,
        "per_page": found.per_page,
        "total": found.total,
    }


@router.get("/thread")
async def thread(
    _operator: Operator, parts: Parts, conversation: Annotated[str, Query(min_length=1, max_length=200)]
) -> dict[str, Any]:
    """One conversation's full thread; 404 when there is no such conversation."""
    found = await asyncio.to_thread(parts.inbox.thread, conversation)
    if found is None:
        raise HTTPException(404, f"no conversation {conversation!r}")
    cited = sorted({doc_id for message in found.messages for doc_id in message.citations})
    documents = await asyncio.to_thread(cited_documents, parts.channel, cited)
    return {
        "conversation": summary_json(found.conversation),
        "messages": [message_json(message, documents) for message in found.messages],
        "handoffs": [
            {"reason": h.reason, "requested_at": _moment(h.requested_at), "released_at": _moment(h.released_at)}
            for h in found.handoffs
        ],
    }


@router.get("/unanswered")
async def unanswered(
    _operator: Operator,
    parts: Parts,
    since: datetime | None = None,
    threshold: Annotated[float, Query(ge=0.0, le=1.0)] = DEFAULT_THRESHOLD,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The customers' unanswered questions, grouped by similarity, biggest groups first."""
    questions = await asyncio.to_thread(parts.inbox.unanswered, since)
    if not questions:
        return {"groups": [], "questions": 0}
    embedder = (await parts.knowledge()).store.embedder
    groups = await asyncio.to_thread(group_questions, questions, embedder.embed_documents, threshold)
    return {"groups": [group_json(group) for group in groups[:limit]], "questions": len(questions)}


async def _act(action: Any, *args: Any) -> Any:
    """`action(*args)` in a thread; an unknown conversation is 404, one the bot holds 409."""
    try:
        return await asyncio.to_thread(action, *args)
    except ConversationNotFoundError as error:
        raise HTTPException(404, str(error)) from error
    except ConversationNotHeldError as error:
        raise HTTPException(409, str(error)) from error


@router.post("/take-over")
async def take_over(body: ConversationBody, name: Operator, parts: Parts) -> dict[str, Any]:
    """Hold the conversation for a person: the bot stays silent in it until it is released."""
    changed = await _act(parts.actions.take_over, body.conversation, name)
    return {"conversation": body.conversation, "with_person": True, "changed": changed}


@router.post("/release")
async def release(body: ConversationBody, _operator: Operator, parts: Parts) -> dict[str, Any]:
    """Give the conversation back to the bot."""
    changed = await _act(parts.actions.release, body.conversation)
    return {"conversation": body.conversation, "with_person": False, "changed": changed}


@router.post("/reply")
async def reply(body: ReplyBody, name: Operator, parts: Parts) -> dict[str, Any]:
    """Reply as a person in a conversation a person holds; queued for delivery to its channel (not the widget's)."""
    stored = await _act(parts.actions.reply, body.conversation, name, body.text)
    queued = False
    if stored.channel != WIDGET_CHANNEL:
        job = OperatorReply(stored.conversation_id, stored.channel, stored.message_id, stored.text, stored.operator)
        queued = await parts.channel.submit(SOURCE, delivery_id(stored.message_id), job.payload())
    return {"message_id": stored.message_id, "conversation": stored.conversation_id, "queued": queued}


@router.get("/curated")
async def curated_answers(_operator: Operator, parts: Parts) -> dict[str, Any]:
    """Every curated answer, most recently changed first."""
    answers = await asyncio.to_thread(parts.curated.all)
    return {"curated": [curated_json(answer) for answer in answers]}


async def _index_curated(parts: Console) -> None:
    """Bring the knowledge index in step with the curated answers; 503 when it cannot be written."""
    knowledge = await parts.knowledge()
    try:
        await asyncio.to_thread(CuratedKnowledge(parts.curated, knowledge.writer).sync)
    except KnowledgeError as error:
        detail = f"the curated answers are stored, but the knowledge index was not updated: {error}"
        raise HTTPException(503, detail) from error


@router.post("/curated", status_code=201)
async def curate(body: CurateBody, name: Operator, parts: Parts) -> dict[str, Any]:
    """A curated answer (from an exchange when `conversation`/`message_id` are given), served from now on."""
    if body.conversation is not None or body.message_id is not None:
        if body.conversation is None or body.message_id is None:
            raise HTTPException(422, "give both conversation and message_id, or neither")
        if not await asyncio.to_thread(parts.inbox.has_message, body.conversation, body.message_id):
            raise HTTPException(404, f"no message {body.message_id} in conversation {body.conversation!r}")
    answer = await asyncio.to_thread(
        parts.curated.add, body.question.strip(), body.answer.strip(), name, body.conversation, body.message_id
    )
    await _index_curated(parts)
    return curated_json(answer)


@router.put("/curated/{answer_id}")
async def edit_curated(answer_id: int, body: CuratedBody, name: Operator, parts: Parts) -> dict[str, Any]:
    """Change a curated answer's question or text; the index follows."""
    answer = await asyncio.to_thread(parts.curated.edit, answer_id, body.question.strip(), body.answer.strip(), name)
    if answer is None:
        raise HTTPException(404, f"no curated answer {answer_id}")
    await _index_curated(parts)
    return curated_json(answer)


@router.delete("/curated/{answer_id}", status_code=204)
async def delete_curated(answer_id: int, _operator: Operator, parts: Parts) -> None:
    """Delete a curated answer; it leaves the index too."""
    if not await asyncio.to_thread(parts.curated.remove, answer_id):
        raise HTTPException(404, f"no curated answer {answer_id}")
    await _index_curated(parts)
