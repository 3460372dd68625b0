"""The wire format of the answer channel (`adapters.http.answer_channel`): length-prefixed JSON frames over a stream.

A frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON (one object). One connection carries one
turn: the HTTP process sends one request frame, `{"message": {...}, "history": [{"role", "content"}], "stream":
bool, "context": {...}}` (the `Message` as the routes built it, its ids already in the caller's namespace; the log
context of the request, `bot.logging_setup.current_context`, so the answer process logs the turn under the caller's
request id), and the answer process
sends back, for a streamed turn, `{"delta": text}` frames as the reply is written, then one `{"reply": {...}}` frame
(the `Reply` as `answer_worker.reply_record` keeps it, so it is read back unchanged), or `{"error": text}` if the turn
could not be answered there. Then the answer process closes the connection; the HTTP process closing it first
cancels the turn.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from adapters.http.answer_worker import reply_from_record, reply_record
from bot.logging_setup import CONTEXT_FIELDS, current_context
from bot.types import ChatMessage, Message, Reply, StreamEvent, TextDelta

MAX_FRAME_BYTES = 16 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that is not what the answer channel sends: too large, not JSON, or not a known request or event."""


def frame(record: dict[str, Any]) -> bytes:
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"a frame of {len(data)} bytes is over the {MAX_FRAME_BYTES} bytes the channel carries")
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next frame; `asyncio.IncompleteReadError` when the other side closed the connection before it."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"a frame announced {length} bytes, over the {MAX_FRAME_BYTES} bytes the channel carries")
    try:
        record = json.loads(await reader.readexactly(length))
    except ValueError as error:
        raise FrameError(f"a frame is not JSON: {error}") from error
    if not isinstance(record, dict):
        raise FrameError("a frame is not a JSON object")
    return record


@dataclass(frozen=True)
class TurnRequest:
    message: Message
    history: tuple[ChatMessage, ...] = ()
    stream: bool = False
    context: tuple[tuple[str, str], ...] = ()  # log context fields of the request, by name

    def record(self) -> dict[str, Any]:
        return {
            "message": asdict(self.message),
            "history": [asdict(turn) for turn in self.history],
            "stream": self.stream,
            "context": dict(self.context),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TurnRequest:
        try:
            message = Message(**record["message"])
            history = tuple(ChatMessage(**turn) for turn in record.get("history", ()))
            context = tuple(
                (name, value)
                for name, value in dict(record.get("context") or {}).items()
                if name in CONTEXT_FIELDS and isinstance(value, str)
            )
            return cls(message, history, bool(record.get("stream", False)), context)
        except (KeyError, TypeError, ValueError) as error:
            raise FrameError(f"not a turn request: {error}") from error


def turn_request(message: Message, history: Sequence[ChatMessage], stream: bool) -> bytes:
    return frame(TurnRequest(message, tuple(history), stream, tuple(current_context().items())).record())


def event_frame(event: StreamEvent) -> bytes:
    if isinstance(event, TextDelta):
        return frame({"delta": event.text})
    return frame({"reply": reply_record(event)})


def error_frame(reason: str) -> bytes:
    return frame({"error": reason})


class TurnFailedError(Exception):
    """The answer process sent an `error` frame: it could not answer the turn."""


def event_from_record(record: dict[str, Any]) -> StreamEvent:
    """A `delta` frame as a `TextDelta`, a `reply` frame as the `Reply`; `TurnFailedError` for an `error` frame."""
    if "delta" in record:
        return TextDelta(str(record["delta"]))
    if "reply" in record:
        try:
            reply: Reply = reply_from_record(record["reply"])
        except TypeError as error:
            raise FrameError(f"not a reply: {error}") from error
        return reply
    if "error" in record:
        raise TurnFailedError(str(record["error"]))
    raise FrameError(f"an unknown frame with the fields {sorted(record)[:5]}")
