"""`AnswerChannel`: how an HTTP process has its chat turns answered by the answer processes, and refuses the excess.

A chat turn (`/v1/chat`, `/v1/chat/stream`, `/v1/chat/completions`, the widget's) costs its process milliseconds of
CPU even with a fast LLM (retrieval, the stages, the store); answered in the HTTP process, that CPU is taken under the
GIL from the event loop that also sends the 503s and the Slack acknowledgements, which then wait behind it. With answer
processes (`[server] answer_processes`), the HTTP process only admits the turn and passes it on: `AnswerChannel` has
the same `reply` and `stream` as the `Responder` (`ChatAnswers`), so the routes do not know which answers them.

Admission. Each answer process takes at most `[server] chat_turns_per_answer_process` turns of this HTTP process at
once; a turn goes to the process with the fewest. When all are full, up to `chat_queue` turns wait (at most
`chat_queue_wait_s`) for a place, first come first served; beyond that (at once, with the default `chat_queue` 0),
the turn is refused with `AnswersUnavailableError`, a 503 with `Retry-After` (`[server] shed_retry_after_s`) that
costs the event loop a few microseconds. A turn is refused at once too when the queue ahead of it would take more
than half of `chat_queue_wait_s` to get through, as estimated from how long answered turns held their places
(`turn_s`, a moving average): when the answer processes are slow, a turn that would only time out in the queue is
not kept waiting for its 503. One that waits anyway and times out is refused then. The places are counted per HTTP
process (each of `[server] workers` has its own).

The channel. Each turn opens a connection to the chosen process's Unix socket (`answer_channel_server`), sends the
turn and reads its frames (`answer_channel_frames`) as they come; a connection that cannot be opened (the process is
restarting or still starting) makes the turn try the others, and the process is passed over for `DOWN_FOR_S`. The
end of the connection before the reply (the process died mid-turn) is `AnswersUnavailableError` too, never a hang or
a 500; the supervisor restarts the process. Leaving a turn early (the client disconnected, `adapters.http.
disconnects`, or stopped reading a stream) closes the connection, which cancels the turn in the answer process.

Metrics stay whole: the answer process's responder counts each reply it gives in the shared multiprocess metrics
that /metrics adds up (`adapters.http.metrics`), and this process counts its requests as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Protocol

from fastapi import HTTPException

from adapters.http.answer_channel_frames import FrameError, TurnFailedError, event_from_record, read_frame, turn_request
from bot.types import ChatMessage, Message, Reply, StreamEvent

log = logging.getLogger(__name__)

DOWN_FOR_S = 0.5
TURN_AVERAGING = 0.1  # the weight of the last answered turn in `turn_s`
# A turn waits only when its expected wait is at most this share of `chat_queue_wait_s`: the estimate is a mean, and
# a turn that waits and times out has cost its caller the whole wait for its 503.
QUEUE_MARGIN = 0.5


class ChatAnswers(Protocol):
    """What the chat routes answer through: the `Responder` (in this process) or an `AnswerChannel`."""

    async def reply(self, message: Message, *, history: Sequence[ChatMessage] = ()) -> Reply: ...

    def stream(self, message: Message, history: Sequence[ChatMessage] = ()) -> AsyncIterator[StreamEvent]: ...


class AnswersUnavailableError(HTTPException):
    """The turn cannot be answered now (every place taken, no answer process reachable, or the process answering
    it stopped): 503 with `Retry-After`."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        detail = f"the server cannot answer now ({reason}); retry later"
        super().__init__(503, detail, {"Retry-After": str(retry_after_s)})


class AnswerChannel:
    def __init__(
        self,
        sockets: Sequence[Path],
        turns_per_process: int,
        queue_length: int,
        queue_wait_s: float,
        retry_after_s: int,
        on_shed: Callable[[], None] | None = None,
    ) -> None:
        """`on_shed`: called for each turn refused as overload (every place taken, the wait too long)."""
        if not sockets:
            raise ValueError("an answer channel needs at least one answer process")
        self._sockets = list(sockets)
        self._turns_per_process = turns_per_process
        self._queue_length = queue_length
        self._queue_wait_s = queue_wait_s
        self._retry_after_s = retry_after_s
        self._on_shed = on_shed or (lambda: None)
        self.in_flight = [0] * len(sockets)  # this process's turns at each answer process
        self._down_until = [0.0] * len(sockets)
        self._waiting: deque[asyncio.Future[int]] = deque()
        self.turn_s = 0.0  # how long an answered turn holds its place (moving average)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def reply(self, message: Message, *, history: Sequence[ChatMessage] = ()) -> Reply:
        """The reply to `message` from an answer process (`history` as in `Responder.reply`)."""
        async with contextlib.aclosing(self._turn(message, history, stream=False)) as events:
            async for event in events:
                if isinstance(event, Reply):
                    return event
        raise self._unavailable("the answer process sent no reply")

    async def stream(self, message: Message, history: Sequence[ChatMessage] = ()) -> AsyncIterator[StreamEvent]:
        """`TextDelta`s as an answer process writes the reply, then the `Reply` (as `Responder.stream`)."""
        async with contextlib.aclosing(self._turn(message, history, stream=True)) as events:
            async for event in events:
                yield event

    async def _turn(
        self, message: Message, history: Sequence[ChatMessage], stream: bool
    ) -> AsyncGenerator[StreamEvent, None]:
        held = await self._place()
        placed_at = time.monotonic()
        writer: asyncio.StreamWriter | None = None
        try:
            number, reader, writer = await self._connect(held)
            if number != held:  # the place moves to the process that answers
                self.in_flight[held] -= 1
                self.in_flight[number] += 1
                held = number
            writer.write(turn_request(message, history, stream))
            while True:
                try:
                    event = event_from_record(await read_frame(reader))
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    log.error(
                        "answer process %d stopped during a turn of %s: %r", number, message.conversation_id, error
                    )
                    raise self._unavailable("the answer process stopped during the turn") from error
                except (TurnFailedError, FrameError) as error:
                    log.error("answer process %d could not answer %s: %s", number, message.conversation_id, error)
                    raise self._unavailable("the answer process could not answer") from error
                if isinstance(event, Reply):
                    self.turn_s += TURN_AVERAGING * (time.monotonic() - placed_at - self.turn_s)
                yield event
                if isinstance(event, Reply):
                    return
        finally:
            if writer is not None:
                writer.close()  # before the end of the reply: the answer process cancels the turn
            self._free(held)

    async def _place(self) -> int:
        """The answer process this turn goes to, its place taken; waits in the queue when all are full."""
        now = time.monotonic()
        everyone = range(len(self._sockets))
        reachable = [number for number in everyone if self._down_until[number] <= now] or list(everyone)
        number = min(reachable, key=self.in_flight.__getitem__)
        if self.in_flight[number] < self._turns_per_process and not self._waiting:
            self.in_flight[number] += 1
            return number
        if self._no_room_to_wait():
            self._on_shed()
            raise self._unavailable("every answer place is taken")
        place: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(place)
        given: int | None = None
        try:
            async with asyncio.timeout(self._queue_wait_s):
                given = await place
            return given
        except TimeoutError:
            self._on_shed()
            raise self._unavailable(f"no answer place came free within {self._queue_wait_s:g}s") from None
        finally:
            if given is None:  # timed out or cancelled (the client left): a place handed over meanwhile goes on
                if place in self._waiting:
                    self._waiting.remove(place)
                if place.done() and not place.cancelled():
                    self._free(place.result())
                else:
                    place.cancel()

    def no_place(self) -> bool:
        """Whether a turn asking now would be refused at once: every place taken, and no room to wait for one."""
        if min(self.in_flight) < self._turns_per_process and not self._waiting:
            return False
        return self._no_room_to_wait()

    def _no_room_to_wait(self) -> bool:
        """The queue is full, or a turn queued now would wait longer than it may."""
        return len(self._waiting) >= self._queue_length or self.expected_wait_s() > self._queue_wait_s * QUEUE_MARGIN

    def expected_wait_s(self) -> float:
        """How long a turn queued now would wait for a place: the turns ahead of it (and itself) each wait for one
        of all the places to come free, one every `turn_s` / places on average."""
        places = self._turns_per_process * len(self._sockets)
        return (len(self._waiting) + 1) * self.turn_s / places

    def _free(self, number: int) -> None:
        """A turn at `number` ended: its place goes to the first turn waiting, else it is free."""
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_result(number)
                return
        self.in_flight[number] -= 1

    async def _connect(self, number: int) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to answer process `number`, else to the next one that answers."""
        for attempt in range(len(self._sockets)):
            candidate = (number + attempt) % len(self._sockets)
            try:
                reader, writer = await asyncio.open_unix_connection(str(self._sockets[candidate]))
            except OSError as error:  # no socket yet (starting), or nobody behind it (died)
                self._down_until[candidate] = time.monotonic() + DOWN_FOR_S
                log.warning("answer process %d is not reachable: %s", candidate, error)
                continue
            return candidate, reader, writer
        raise self._unavailable("no answer process is reachable")

    def _unavailable(self, reason: str) -> AnswersUnavailableError:
        return AnswersUnavailableError(reason, self._retry_after_s)
