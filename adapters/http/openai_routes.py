"""OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`, for Open WebUI, LibreChat, the `openai`
SDK and anything else that speaks OpenAI's Chat Completions API, behind the same API keys as `/v1/chat`.

A request is one customer turn: the last message (it must be the user's) is the message, answered through the one
answer path (`context.answers.reply` / `.stream`, with its `Message` built by `api_routes.to_message`, as for
`/v1/chat`). The earlier messages map to the conversation like this:

- `conversation_id` (a Deskbot extension field; the SDK sends it with `extra_body`) names a stored conversation:
  the store's history of it is what the bot remembers, and the earlier messages sent are ignored;
- without one, the earlier user and assistant messages are the history (what the rewrite and answer stages read),
  and the turn is stored under a new conversation id, given back in the response;
- system and developer messages are ignored: Deskbot's own prompts say how the bot answers, and a client's system
  prompt must not lift its grounding.

`user` is the customer's id. `model` may name anything (tools insist on one); the only model is `deskbot`. OpenAI's
sampling fields (`temperature`, `max_tokens`, `top_p`, `tools`, ...) are accepted and ignored; `n` must be 1.

The reply comes back as OpenAI's reference shapes it (a `chat.completion`, or `chat.completion.chunk` server-sent
events ending in `data: [DONE]`). Its text is the answer, then its numbered sources as Markdown (`- [1] [Title](url)`);
an abstention or a handoff is its text too. Beside OpenAI's fields, the completion (and the last chunk) carries
`/v1/chat`'s reply fields (`bot.presentation.reply_json`): `citations`, `abstained`, `handoff`, `conversation_id`,
`latency_ms`. No token counts: `usage` is null. Errors have OpenAI's shape, `{"error": {"message", "type", "param",
"code"}}`: 400 for a bad body, 401 for a missing or revoked key, 404 for an unknown model, 503 (with `Retry-After`)
when the turn cannot be answered now, as for /v1/chat (`adapters.http.api_routes`); an answer process that stops in
the middle of a stream that started ends it with a `data: {"error": {...}}` event, then `data: [DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.http.answer_channel import AnswersUnavailableError
from adapters.http.api_routes import ChatRequest, started_stream, to_message
from adapters.http.auth import api_principal
from adapters.http.context import ChannelContext, channel_context
from adapters.http.disconnects import unless_disconnected
from adapters.http.principals import MAX_CALLER_ID_CHARS, Principal
from bot.presentation import reply_json, source_lines
from bot.types import ChatMessage, Message, Reply, TextDelta

MODEL_ID = "deskbot"
MODEL_CREATED = int(time.time())
"""When this process started: `GET /v1/models` must give a creation time, and the bot is what this process serves."""

ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def error_json(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": ERROR_CODES.get(status)}}


def openai_error(
    status: int, message: str, param: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_json(status, message, param), status_code=status, headers=dict(headers or {}))


def _first_problem(errors: list[Any]) -> tuple[str, str | None]:
    """The first validation problem as a message and the field it is about (`messages.0.content`)."""
    if not errors:
        return "invalid request", None
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON", None
    where = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(where) or None
    return (f"{param}: {first.get('msg', 'invalid')}" if param else str(first.get("msg", "invalid"))), param


class BadCompletionRequest(HTTPException):
    """A request the body model accepted but the turn cannot be made from: 400, naming the field (`param`)."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(400, f"{param}: {message}")
        self.param = param


class OpenAIErrorRoute(APIRoute):
    """A route whose refusals (a bad body, a bad key, an `HTTPException`) come back in OpenAI's error shape, which is
    what OpenAI's clients read; the app's other routes keep FastAPI's `{"detail"}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_in_openai_shape(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as error:
                message, param = _first_problem(list(error.errors()))
                return openai_error(400, message, param)
            except HTTPException as error:
                param = error.param if isinstance(error, BadCompletionRequest) else None
                return openai_error(error.status_code, str(error.detail), param, error.headers)

        return handle_in_openai_shape


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIErrorRoute)


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]] | None = None
    """A text, or content parts (`{"type": "text", "text"}`; only text can be answered), or null."""

    @field_validator("content")
    @classmethod
    def _text_parts_only(cls, content: str | list[dict[str, Any]] | None) -> str | list[dict[str, Any]] | None:
        for part in content if isinstance(content, list) else ():
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError(f"only text content parts can be answered, not {part.get('type')!r}")
        return content

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part["text"] for part in self.content)
        return self.content or ""


class CompletionRequest(BaseModel):
    """OpenAI's Chat Completions request; the fields Deskbot does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, description=f"Any name; the one model is `{MODEL_ID}`.")
    messages: list[CompletionMessage] = Field(min_length=1, description="The conversation; the last is the user's.")
    stream: bool = False
    user: str | None = Field(None, max_length=200, description="The customer's id in your system.")
    n: int = Field(1, ge=1, le=1, description="Only one choice.")
    conversation_id: str | None = Field(
        None,
        max_length=MAX_CALLER_ID_CHARS,
        description="Deskbot extension: continue this stored conversation (its history wins).",
    )


def _turn(request: CompletionRequest, principal: Principal) -> tuple[Message, list[ChatMessage]]:
    """The message to answer and the history sent with it (module docstring); 400 when there is no user turn."""
    *earlier, last = request.messages
    if last.role != "user":
        raise BadCompletionRequest(f"the last message must be the user's, not the {last.role}'s", "messages")
    try:
        chat = ChatRequest(message=last.text, conversation_id=request.conversation_id, user_id=request.user)
    except ValidationError as error:
        raise BadCompletionRequest(error.errors()[0]["msg"], f"messages.{len(earlier)}.content") from error
    history = [] if request.conversation_id else [turn for m in earlier if (turn := _remembered(m)) is not None]
    return to_message(chat, principal), history


def _remembered(message: CompletionMessage) -> ChatMessage | None:
    """An earlier user or assistant message as history; None for system and developer messages, and empty ones."""
    if message.role not in {"user", "assistant"} or not message.text:
        return None
    return ChatMessage("user" if message.role == "user" else "assistant", message.text)


def reply_text(reply: Reply) -> str:
    """The answer, then its numbered sources as a Markdown list."""
    sources = source_lines(reply, as_links=True)
    if not sources:
        return reply.text
    return reply.text + "\n\nSources:\n" + "\n".join(f"- {line}" for line in sources)


def _deskbot_fields(reply: Reply) -> dict[str, Any]:
    """`/v1/chat`'s reply fields but the answer (the text is in the message)."""
    fields = reply_json(reply)
    del fields["answer"]
    return fields


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion_json(reply: Reply, completion_id: str, created: int) -> dict[str, Any]:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": reply_text(reply), "refusal": None},
        "logprobs": None,
        "finish_reason": "stop",
    }
    head = {"id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID}
    return {**head, "choices": [choice], "usage": None, **_deskbot_fields(reply)}


def chunk_event(
    completion_id: str, created: int, delta: dict[str, str], finish_reason: str | None = None, **extra: Any
) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID}
    return f"data: {json.dumps({**chunk, 'choices': [choice], **extra}, ensure_ascii=False)}\n\n"


def rest_of_reply(streamed: str, reply: Reply) -> str:
    """What to send after the `streamed` text so the client shows the reply: the rest of it and its sources. A reply
    that replaced what was streamed (a generated answer that failed its claim check) follows it, marked."""
    full = reply_text(reply)
    if full.startswith(streamed):
        return full[len(streamed) :]
    return "\n\n(corrected)\n\n" + full


@router.post(
    "/chat/completions",
    responses={200: {"content": {"text/event-stream": {}}, "description": "A chat.completion, or its chunks."}},
)
async def chat_completions(
    request: CompletionRequest,
    http: Request,
    principal: Annotated[Principal, Depends(api_principal)],
    context: Annotated[ChannelContext, Depends(channel_context)],
) -> Response:
    """OpenAI's Chat Completions: answer the last user message from the knowledge base, with numbered sources."""
    message, history = _turn(request, principal)
    completion_id, created = _completion_id(), int(time.time())
    if not request.stream:
        reply = await unless_disconnected(http, context.answers.reply(message, history=history))
        return JSONResponse(completion_json(principal.own_reply(reply), completion_id, created))
    answer = await started_stream(http, context.answers.stream(message, history))

    async def events() -> AsyncIterator[str]:
        yield chunk_event(completion_id, created, {"role": "assistant", "content": ""})
        streamed = ""
        try:
            async for event in answer:
                if isinstance(event, TextDelta):
                    streamed += event.text
                    yield chunk_event(completion_id, created, {"content": event.text})
                    continue
                reply = principal.own_reply(event)
                rest = rest_of_reply(streamed, reply)
                if rest:
                    yield chunk_event(completion_id, created, {"content": rest})
                yield chunk_event(completion_id, created, {}, "stop", **_deskbot_fields(reply))
        except AnswersUnavailableError as error:
            yield f"data: {json.dumps(error_json(503, str(error.detail)), ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def model_json() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "deskbot"}


@router.get("/models")
async def list_models(_principal: Annotated[Principal, Depends(api_principal)]) -> dict[str, Any]:
    """The one model, `deskbot`: the bot, answering from its knowledge base."""
    return {"object": "list", "data": [model_json()]}


@router.get("/models/{model}")
async def retrieve_model(model: str, _principal: Annotated[Principal, Depends(api_principal)]) -> dict[str, Any]:
    if model != MODEL_ID:
        raise HTTPException(404, f"the model '{model}' does not exist; the one model is '{MODEL_ID}'")
    return model_json()
