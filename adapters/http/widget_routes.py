"""The embeddable chat widget's routes: `/widget.js`, and `/widget/v1/*` for the widget keys' browsers.

Every `/widget/v1` request names its widget key in the `key` query parameter (in the URL, so that a CORS preflight,
which carries no body or custom header, can be checked too) and comes with the `Origin` header browsers send on
cross-origin requests. A missing or unknown origin is 403, an unknown, revoked or expired key 401; only then does the
answer carry `Access-Control-Allow-Origin` for that origin, so a page on any other site can neither read an answer nor
send JSON (its preflight is refused). Secret API keys are not accepted here, and widget keys are not accepted on
`/v1` (`adapters.http.auth` takes only `dsk_` keys).

A browser first asks `POST /widget/v1/session` for a session (`adapters.http.widget_keys`: minted and signed by the
server); every other route takes it in the body and answers as `Principal.widget(<key name>)` in the conversation
`widget:<key>:<session>` (and as its customer), so a browser can reach no conversation but its own session's. Each
chat message, rating and handoff request counts against the key's per-session and per-day limits (429 with
`Retry-After`). Feedback and "talk to a person" go through the command stage (`/feedback`, `/human`) like any
channel's buttons: one path for each job. They are answered as /v1/chat's turns are (`context.answers`: the answer
processes, or this process), and refused the same way when they cannot be answered now: 503 with `Retry-After`,
with the CORS headers, so the page can read it.

`GET /widget/v1/messages?session=...&after=<message id>` is the session's stored thread after that message (all of
it with `after=0`) and whether a person holds the conversation: the widget re-renders the thread on every page load,
and polls it while a person holds the conversation to show what the operator replies in the console (messages of
kind `human`, `adapters.http.admin_api`). Reading it is not counted against the limits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from adapters.http.answer_channel import AnswersUnavailableError
from adapters.http.api_routes import reply_stream
from adapters.http.cited_documents import CitedDocument, cited_documents
from adapters.http.context import ChannelContext, channel_context
from adapters.http.disconnects import unless_disconnected
from adapters.http.principals import Principal
from adapters.http.widget_keys import WidgetKeyInfo, WidgetKeys, WidgetLimitError
from bot.presentation import ACTION_KINDS, reply_json
from bot.store.inbox import Inbox, ThreadMessage
from bot.types import Message

WIDGET_CHANNEL = "widget"
SCRIPT_CACHE = "public, max-age=300"  # a new Deskbot version reaches embedding pages within minutes
PREFLIGHT_MAX_AGE_S = 600

router = APIRouter(
    prefix="/widget/v1",
    tags=["widget"],
    responses={
        401: {"description": "Unknown, revoked or expired widget key, or a session this key did not sign."},
        403: {"description": "No `Origin` header, or an origin the widget key does not allow."},
        429: {"description": "The session's or the key's messages of today are used up; `Retry-After` says when."},
        503: {"description": "The server cannot answer now (overload); `Retry-After` says when."},
    },
)
script_router = APIRouter(tags=["widget"])


@cache
def widget_script() -> bytes:
    return files("adapters.http.widget").joinpath("widget.js").read_bytes()


@script_router.get("/widget.js", response_class=Response, responses={200: {"content": {"text/javascript": {}}}})
async def script() -> Response:
    """The widget: add `<script src="https://<deskbot>/widget.js" data-key="dsw_..." async></script>` to a page."""
    return Response(
        widget_script(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": SCRIPT_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@dataclass(frozen=True)
class WidgetCaller:
    """A request from a page on one of `key`'s allowed origins."""

    key: WidgetKeyInfo
    origin: str

    @property
    def principal(self) -> Principal:
        return Principal.widget(self.key.name)

    @property
    def cors_headers(self) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": self.origin, "Vary": "Origin"}

    def refuse(self, status: int, detail: str, **headers: str) -> HTTPException:
        """An error the page may read (its origin is allowed)."""
        return HTTPException(status, detail, {**self.cors_headers, **headers})

    def message(self, session: str, text: str) -> Message:
        return self.principal.message(text, conversation_id=session, user_id=session, channel=WIDGET_CHANNEL)


async def widget_caller(
    request: Request,
    context: Annotated[ChannelContext, Depends(channel_context)],
    key: Annotated[str, Query(max_length=100, description="The widget key (`deskbot keys create-widget`).")],
) -> WidgetCaller:
    """The caller, once its key and origin are checked: 403 without an Origin, 401 for an unknown, revoked or
    expired key, 403 for an origin the key does not allow."""
    origin = request.headers.get("origin")
    if not origin:
        raise HTTPException(403, "a widget request needs an Origin header (it comes from a web page)")
    info = await asyncio.to_thread(context.widget_keys.find, key)
    if info is None:
        raise HTTPException(401, "unknown, revoked or expired widget key")
    if not info.allows(origin):
        raise HTTPException(403, f"this widget key does not allow the origin {origin!r}")
    return WidgetCaller(info, origin)


Caller = Annotated[WidgetCaller, Depends(widget_caller)]
Context = Annotated[ChannelContext, Depends(channel_context)]


class SessionBody(BaseModel):
    session: str = Field(min_length=1, max_length=100, description="The session from POST /widget/v1/session.")


class ChatBody(SessionBody):
    message: str = Field(min_length=1, max_length=4_000, description="The customer's message.")


class FeedbackBody(SessionBody):
    rating: Literal["good", "bad"]
    comment: str = Field("", max_length=1_000)


async def admitted_session(caller: WidgetCaller, context: ChannelContext, token: str) -> str:
    """The session of `token`, once its message is counted: 401 for a session the key did not sign, 429 over a
    limit."""
    session = WidgetKeys.session_id(caller.key, token)
    if session is None:
        raise caller.refuse(401, "unknown widget session (ask POST /widget/v1/session for a new one)")
    try:
        await asyncio.to_thread(context.widget_keys.admit, caller.key, session)
    except WidgetLimitError as limit:
        raise caller.refuse(429, str(limit), **{"Retry-After": str(limit.retry_after_s)}) from limit
    return session


@router.options("/{route:path}", include_in_schema=False)
async def preflight(caller: Caller) -> Response:
    """The CORS preflight of a page on an allowed origin (a refused one gets no CORS headers)."""
    headers = {
        **caller.cors_headers,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }
    return Response(status_code=204, headers=headers)


@router.post("/session")
async def new_session(caller: Caller) -> JSONResponse:
    """A new browser session (`{"session"}`): the widget keeps it and sends it with every message."""
    return JSONResponse({"session": WidgetKeys.mint_session(caller.key)}, headers=caller.cors_headers)


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "As /v1/chat/stream."}},
)
async def chat_stream(body: ChatBody, request: Request, caller: Caller, context: Context) -> StreamingResponse:
    """Stream the answer to one message of the session: `delta` events, then a `reply` event."""
    session = await admitted_session(caller, context, body.session)
    message = caller.message(session, body.message)
    try:
        return await reply_stream(request, context, message, caller.principal, caller.cors_headers)
    except AnswersUnavailableError as busy:
        raise caller.refuse(503, str(busy.detail), **(busy.headers or {})) from busy


async def _command(
    request: Request, caller: WidgetCaller, context: ChannelContext, token: str, command: str
) -> JSONResponse:
    session = await admitted_session(caller, context, token)
    try:
        reply = await unless_disconnected(request, context.answers.reply(caller.message(session, command)))
    except AnswersUnavailableError as busy:
        raise caller.refuse(503, str(busy.detail), **(busy.headers or {})) from busy
    return JSONResponse(reply_json(caller.principal.own_reply(reply)), headers=caller.cors_headers)


@router.post("/feedback")
async def feedback(body: FeedbackBody, request: Request, caller: Caller, context: Context) -> JSONResponse:
    """Rate the session's last answer (as `/feedback good|bad [comment]`); the bot's thanks, shaped as /v1/chat."""
    command = f"/feedback {body.rating} {body.comment}".strip()
    return await _command(request, caller, context, body.session, command)


@router.post("/human")
async def human(body: SessionBody, request: Request, caller: Caller, context: Context) -> JSONResponse:
    """Hand the session's conversation to a person (as `/human`); the handoff text, shaped as /v1/chat."""
    return await _command(request, caller, context, body.session, "/human")


def _history_json(message: ThreadMessage, documents: dict[str, CitedDocument]) -> dict[str, object]:
    """A stored message as the widget shows it: the customer's, the bot's (with its sources), or a person's."""
    cited = [documents[doc_id] for doc_id in message.citations if doc_id in documents]
    return {
        "id": message.id,
        "role": "user" if message.role == "user" else "bot",
        "text": message.content,
        "from_person": message.kind == "human",
        "citations": [{"id": doc.id, "title": doc.title, "source": doc.source} for doc in cited],
        "rating": message.feedback[-1].rating if message.feedback else None,
        "ratable": message.kind in ACTION_KINDS,
    }


@router.get("/messages")
async def messages(
    caller: Caller,
    context: Context,
    session: Annotated[str, Query(min_length=1, max_length=100, description="The session from POST /session.")],
    after: Annotated[int, Query(ge=0, description="Only messages after this message id.")] = 0,
) -> JSONResponse:
    """The session's stored messages after `after` (`{"messages", "with_person"}`), oldest first."""
    session_id = WidgetKeys.session_id(caller.key, session)
    if session_id is None:
        raise caller.refuse(401, "unknown widget session (ask POST /widget/v1/session for a new one)")
    conversation = caller.principal.scoped(session_id)
    found = await asyncio.to_thread(Inbox(context.databases[0]).messages_after, conversation, after)
    if found is None:  # nothing sent yet in this session
        return JSONResponse({"messages": [], "with_person": False}, headers=caller.cors_headers)
    stored, with_person = found
    cited = {doc_id for message in stored for doc_id in message.citations}
    documents = await asyncio.to_thread(cited_documents, context, cited)
    shown = [_history_json(message, documents) for message in stored if message.content]
    return JSONResponse({"messages": shown, "with_person": with_person}, headers=caller.cors_headers)
