"""`AnswerChannelServer`: an answer process answering the HTTP processes' chat turns on a Unix socket of its own.

Each connection is one turn (`adapters.http.answer_channel_frames`): the request frame is read, the turn is answered
by this process's `Responder` (streamed or not, as asked), and its frames are written back as they come. While the
turn runs, the connection is watched for its end: an HTTP process closes it when its client went away, and the turn
is then cancelled here (the engine stops, nothing more is written). The responder never raises for a failed turn
(it gives the canned error reply), so an `error` frame means a request this side could not read.

The socket is `answers-<n>.sock` in serve's status folder, next to the process's status file: every HTTP worker
reaches every answer process by its number. A restarted process removes the socket its dead predecessor left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.http.answer_channel_frames import FrameError, TurnRequest, error_frame, event_frame, read_frame
from bot.logging_setup import log_context

if TYPE_CHECKING:
    from bot.responder import Responder

log = logging.getLogger(__name__)


def socket_path(status_folder: Path, number: int) -> Path:
    """Where answer process `number` listens for chat turns."""
    return status_folder / f"answers-{number}.sock"


class AnswerChannelServer:
    def __init__(self, responder: Responder, path: Path) -> None:
        self._responder = responder
        self.path = path
        self._server: asyncio.Server | None = None
        self._turns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # left by a process that died
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    @property
    def turns(self) -> int:
        """Turns being answered now."""
        return len(self._turns)

    async def stop(self, grace_s: float) -> None:
        """Take no new turns; let running ones finish for up to `grace_s`, then cancel the rest (their callers get
        the end of the connection: a 503)."""
        if self._server is not None:
            self._server.close()
        self.path.unlink(missing_ok=True)
        if self._turns:
            _done, pending = await asyncio.wait(set(self._turns), timeout=grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._turns.add(task)
        try:
            await self._answer_one(reader, writer)
        finally:
            self._turns.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = TurnRequest.from_record(await read_frame(reader))
        except asyncio.IncompleteReadError:
            return  # the caller went away before asking
        except FrameError as error:
            log.error("answer channel: an unreadable request: %s", error)
            writer.write(error_frame(f"unreadable request: {error}"))
            return
        answering = asyncio.create_task(self._answer(request, writer), name="deskbot-chat-turn")
        hangup = asyncio.create_task(reader.read(1), name="deskbot-chat-hangup")  # b"": the caller closed
        try:
            await asyncio.wait({answering, hangup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hangup.cancel()
            if not answering.done():
                log.info(
                    "the caller of conversation %s went away: its turn is cancelled", request.message.conversation_id
                )
                answering.cancel()
            await asyncio.gather(answering, hangup, return_exceptions=True)
        failure = None if answering.cancelled() else answering.exception()
        if failure is not None:
            log.error("answer channel: the turn of %s failed: %r", request.message.conversation_id, failure)

    async def _answer(self, request: TurnRequest, writer: asyncio.StreamWriter) -> None:
        with log_context(**dict(request.context)):
            await self._answer_in_context(request, writer)

    async def _answer_in_context(self, request: TurnRequest, writer: asyncio.StreamWriter) -> None:
        message, history = request.message, request.history
        if not request.stream:
            writer.write(event_frame(await self._responder.reply(message, history=history)))
            await writer.drain()
            return
        async for event in self._responder.stream(message, history):
            writer.write(event_frame(event))
            await writer.drain()
