"""`POST /v1/chat`: one JSON reply, shaped like `deskbot ask --json`; `POST /v1/chat/stream`: server-sent events;
`GET /v1/conversations/{id}/messages`: the conversation's stored messages, operators' replies included.

The `conversation_id` and `user_id` a caller sends are its own: they reach the engine inside the caller's namespace
(`adapters.http.principals`), and the reply carries the caller's id back. A caller reads only its own conversations:
another key's (or one that does not exist) is 404, the same answer, so ids cannot be probed.

A turn is answered through `context.answers` (the answer processes, or this process: `adapters.http.answer_channel`);
one that cannot be answered now (every place taken, no answer process up) is 503 with `Retry-After`, before anything
is sent: a stream starts once its first event is there. An answer process that stops in the middle of a stream that
already started ends it with an `error` event (`{"detail"}`) instead of the `reply` event. A client that disconnects
cancels its turn (`adapters.http.disconnects`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from adapters.http.answer_channel import AnswersUnavailableError
from adapters.http.auth import api_principal
from adapters.http.context import ChannelContext, channel_context
from adapters.http.conversation_messages import stored_thread
from adapters.http.disconnects import unless_disconnected
from adapters.http.principals import MAX_CALLER_ID_CHARS, Principal
from bot.presentation import reply_json
from bot.types import Message, StreamEvent, TextDelta

router = APIRouter(
    prefix="/v1",
    tags=["chat"],
    responses={
        401: {"description": "Missing, unknown or revoked API key."},
        429: {"description": "Over the key's request limit; `Retry-After` says when to retry."},
        503: {
            "description": "The database does not answer (the key cannot be checked), or the server cannot answer "
            "now (overload); `Retry-After` says when."
        },
    },
)


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=20_000, description="The customer's message.")
    conversation_id: str | None = Field(
        None, max_length=MAX_CALLER_ID_CHARS, description="Continue this conversation (one this API key started)."
    )
    user_id: str | None = Field(
        None, max_length=MAX_CALLER_ID_CHARS, description="The customer's id in your system (per API key)."
    )


class CitationOut(BaseModel):
    id: str
    title: str
    source: str
    score: float


class ChatResponse(BaseModel):
    """`bot.presentation.reply_json`, documented for OpenAPI."""

    answer: str
    citations: list[CitationOut]
    abstained: bool
    handoff: bool
    conversation_id: str
    latency_ms: float


def to_message(request: ChatRequest, principal: Principal) -> Message:
    return principal.message(request.message, request.conversation_id, request.user_id)


@router.post("/chat", response_model=ChatResponse)
async def chat(
    request: ChatRequest,
    http: Request,
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> ChatResponse:
    """Answer one message from the knowledge base, with citations."""
    reply = await unless_disconnected(http, context.answers.reply(to_message(request, principal)))
    return ChatResponse.model_validate(reply_json(principal.own_reply(reply)))


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`delta` events, then one `reply` event."}},
)
async def chat_stream(
    request: ChatRequest,
    http: Request,
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> StreamingResponse:
    """Stream the answer as server-sent events: `delta` events with `{"text"}`, then a `reply` event (as /v1/chat)."""
    return await reply_stream(http, context, to_message(request, principal), principal)


async def started_stream(http: Request, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """`events` once its first one is there (so a turn that cannot be answered is refused before a response starts:
    `AnswersUnavailableError`), as an iterator that closes `events` when it ends."""
    first = await unless_disconnected(http, anext(events))

    async def all_events() -> AsyncIterator[StreamEvent]:
        try:
            yield first
            async for event in events:
                yield event
        finally:
            if isinstance(events, AsyncGenerator):
                await events.aclose()

    return all_events()


async def reply_stream(
    http: Request,
    context: ChannelContext,
    message: Message,
    principal: Principal,
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    """The answer to `message` as server-sent events (this route's and the widget's): `delta` events with
    `{"text"}`, then a `reply` event shaped as /v1/chat's answer, with `principal`'s own conversation id (or an
    `error` event, when the answer process stopped during the turn)."""
    answer = await started_stream(http, context.answers.stream(message))

    async def events() -> AsyncIterator[str]:
        try:
            async for event in answer:
                if isinstance(event, TextDelta):
                    yield _event("delta", {"text": event.text})
                else:
                    yield _event("reply", reply_json(principal.own_reply(event)))
        except AnswersUnavailableError as error:
            yield _event("error", {"detail": error.detail})

    all_headers = {"Cache-Control": "no-cache", **(headers or {})}
    return StreamingResponse(events(), media_type="text/event-stream", headers=all_headers)


class StoredMessageOut(BaseModel):
    id: int = Field(description="Increasing within the conversation: poll with `after=<the last id you saw>`.")
    role: str = Field(description="`user` (the customer) or `assistant` (the bot, or an operator).")
    kind: str | None = Field(description="The reply's kind (`answer`, `faq`, `abstain`, `handoff`, `human`...).")
    text: str
    citations: list[str] = Field(description="Ids of the documents the reply drew on.")
    created_at: datetime
    operator: str | None = Field(description="Who wrote a `human` reply (an operator in the console).")


class ConversationMessages(BaseModel):
    conversation_id: str
    channel: str
    handed_off: bool = Field(description="A person handles the conversation: the bot stays silent.")
    messages: list[StoredMessageOut]


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=ConversationMessages,
    responses={404: {"description": "No conversation of this API key has this id."}},
)
async def conversation_messages(
    conversation_id: Annotated[str, Path(min_length=1, max_length=MAX_CALLER_ID_CHARS)],
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
    after: Annotated[int, Query(ge=0, description="Only messages with an id above this one.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConversationMessages:
    """The conversation's stored messages, oldest first: the customer's, the bot's, and replies operators wrote."""
    store = context.databases[0]  # the store's database (the queue's, when apart, comes second)
    thread = await asyncio.to_thread(stored_thread, store, principal.scoped(conversation_id), after, limit)
    if thread is None:
        raise HTTPException(404, "no such conversation")
    return ConversationMessages(
        conversation_id=conversation_id,
        channel=thread.channel,
        handed_off=thread.handed_off,
        messages=[StoredMessageOut.model_validate(message, from_attributes=True) for message in thread.messages],
    )
