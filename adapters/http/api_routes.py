"""`POST /v1/chat`: one JSON reply, shaped like `deskbot ask --json`; `POST /v1/chat/stream`: server-sent events.

The `conversation_id` and `user_id` a caller sends are its own: they reach the engine inside the caller's namespace
(`adapters.http.principals`), and the reply carries the caller's id back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from adapters.http.auth import api_principal
from adapters.http.context import ChannelContext, channel_context
from adapters.http.principals import MAX_CALLER_ID_CHARS, Principal
from bot.presentation import reply_json
from bot.types import Message, TextDelta

router = APIRouter(
    prefix="/v1",
    tags=["chat"],
    responses={
        401: {"description": "Missing, unknown or revoked API key."},
        429: {"description": "Over the key's request limit; `Retry-After` says when to retry."},
        503: {"description": "The database does not answer (the key cannot be checked); `Retry-After` says when."},
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
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> ChatResponse:
    """Answer one message from the knowledge base, with citations."""
    reply = await context.responder.reply(to_message(request, principal))
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
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> StreamingResponse:
    """Stream the answer as server-sent events: `delta` events with `{"text"}`, then a `reply` event (as /v1/chat)."""
    return reply_stream(context, to_message(request, principal), principal)


def reply_stream(
    context: ChannelContext, message: Message, principal: Principal, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """The answer to `message` as server-sent events (this route's and the widget's): `delta` events with
    `{"text"}`, then a `reply` event shaped as /v1/chat's answer, with `principal`'s own conversation id."""

    async def events() -> AsyncIterator[str]:
        async for event in context.responder.stream(message):
            if isinstance(event, TextDelta):
                yield _event("delta", {"text": event.text})
            else:
                yield _event("reply", reply_json(principal.own_reply(event)))

    all_headers = {"Cache-Control": "no-cache", **(headers or {})}
    return StreamingResponse(events(), media_type="text/event-stream", headers=all_headers)
