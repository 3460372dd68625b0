"""`POST /v1/chat`: one JSON reply, shaped like `deskbot ask --json`; `POST /v1/chat/stream`: server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from adapters.http.auth import api_key_name
from adapters.http.context import ChannelContext, channel_context
from bot.types import Message, Reply, new_conversation_id

router = APIRouter(prefix="/v1", tags=["chat"])


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=20_000, description="The customer's message.")
    conversation_id: str | None = Field(None, max_length=200, description="Continue this conversation.")
    user_id: str | None = Field(None, max_length=200, description="The customer's id in your system.")


class CitationOut(BaseModel):
    id: str
    title: str
    source: str
    score: float


class ChatResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    abstained: bool
    handoff: bool
    conversation_id: str
    latency_ms: float


def to_response(reply: Reply) -> ChatResponse:
    return ChatResponse(
        answer=reply.text,
        citations=[CitationOut(id=c.id, title=c.title, source=c.source, score=c.score) for c in reply.citations],
        abstained=reply.abstained,
        handoff=reply.handoff,
        conversation_id=reply.conversation_id,
        latency_ms=round(reply.latency_ms, 1),
    )


def to_message(request: ChatRequest, key_name: str) -> Message:
    return Message(
        text=request.message,
        user_id=request.user_id or f"api:{key_name}",
        conversation_id=request.conversation_id or new_conversation_id(),
        channel="api",
        metadata={"api_key": key_name},
    )


@router.post("/chat", response_model=ChatResponse)
async def chat(
    request: ChatRequest,
    key_name: Annotated[str, Depends(api_key_name)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> ChatResponse:
    """Answer one message from the knowledge base, with citations."""
    return to_response(await context.answer(to_message(request, key_name)))


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`delta` events, then one `reply` event."}},
)
async def chat_stream(
    request: ChatRequest,
    key_name: Annotated[str, Depends(api_key_name)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> StreamingResponse:
    """Stream the answer as server-sent events: `delta` events with `{"text"}`, then a `reply` event (as /v1/chat)."""
    message = to_message(request, key_name)

    async def events() -> AsyncIterator[str]:
        queue: asyncio.Queue[str | Reply] = asyncio.Queue()

        async def emit(text: str) -> None:
            await queue.put(text)

        async def run() -> None:
            await queue.put(await context.answer(message, emit))

        task = asyncio.create_task(run())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Reply):
                    yield _event("reply", to_response(item).model_dump())
                    return
                yield _event("delta", {"text": item})
        finally:
            if not task.done():
                task.cancel()

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
