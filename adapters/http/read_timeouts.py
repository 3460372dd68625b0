"""Read timeouts of `deskbot serve`: a request's head and its body must each arrive in time, or the connection goes.

Without them a connection that never finishes its headers, or a body that never arrives, holds its socket (and, for
the body, a request slot) for ever, and a few hundred slow clients exhaust the server.

- Head: uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but waits for ever for the request line
  and headers of a connection that has started sending them, or that never sends a byte.
  `ProtocolWithHeaderDeadline` gives uvicorn's HTTP protocol a deadline: the head must be complete
  `header_timeout_s` after the connection opened or the previous response ended, however slowly it trickles in;
  otherwise the connection is closed.
- Body: `BodyDeadline`, an ASGI middleware, gives the body `read_timeout_s` from the start of the request. When it
  runs out, the client gets 408 with `Connection: close` and the app sees a disconnect (its own answer is dropped).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.serve_environment import HEADER_TIMEOUT_ENV

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as DefaultProtocol
except ImportError:  # httptools is optional in uvicorn; h11 always comes with it
    from uvicorn.protocols.http.h11_impl import H11Protocol as DefaultProtocol  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT_S = 10.0


class HeaderDeadline:
    """Mixed into uvicorn's HTTP protocol classes below; the deadline comes from `HEADER_TIMEOUT_ENV`, which
    `deskbot serve` sets (a class is all uvicorn takes, and it pickles it by name for its worker processes)."""

    transport: asyncio.Transport
    cycle: Any
    _header_deadline: asyncio.TimerHandle | None = None
    _awaited_after: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._header_deadline is not None and self.cycle is not self._awaited_after:
            self._header_deadline.cancel()  # the protocol made a new request cycle: its head is complete
            self._header_deadline = None

    def on_response_complete(self) -> None:
        finished = self.cycle
        super().on_response_complete()  # type: ignore[misc]
        if self.cycle is finished and not self.transport.is_closing():  # no pipelined request started meanwhile
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
        self._awaited_after = self.cycle
        timeout_s = header_timeout_s()
        self._header_deadline = asyncio.get_running_loop().call_later(timeout_s, self._head_too_slow, timeout_s)

    def _head_too_slow(self, timeout_s: float) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            log.debug("closing a connection whose request head did not arrive within %gs", timeout_s)
            self.transport.close()


def header_timeout_s() -> float:
    return float(os.environ.get(HEADER_TIMEOUT_ENV) or DEFAULT_HEADER_TIMEOUT_S)


class ProtocolWithHeaderDeadline(HeaderDeadline, DefaultProtocol):
    """uvicorn's default HTTP protocol (httptools when installed, else h11) with a deadline for each request head:
    `deskbot serve` passes it as uvicorn's `http`."""


class BodyDeadline:
    def __init__(self, app: ASGIApp, read_timeout_s: float) -> None:
        self.app = app
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.read_timeout_s
        body_complete = started = timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_complete, timed_out
            if body_complete:  # later receives wait for a disconnect (a streamed reply), which takes its time
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not started:
                    await self._refuse(send)
                return {"type": "http.disconnect"}
            body_complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return  # the 408 went out already; whatever the app answers to the missing body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"the request body did not arrive within {self.read_timeout_s:g}s"}).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 408, "headers": headers})
        await send({"type": "http.response.body", "body": body})
