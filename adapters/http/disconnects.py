"""`unless_disconnected`: a route's work, cancelled as soon as its client goes away.

A JSON route awaits its whole answer before it responds, and nothing tells it that the client closed the connection
meanwhile: the turn would run on (and hold its answer place) for no one. Once the request body is read, the ASGI
`receive` has nothing left to give but `http.disconnect`, so waiting on it beside the work says when the client left;
the work is then cancelled (the answer channel closes its connection, and the answer process cancels the turn) and
the route ends with `ClientGoneError`, a 499 that nobody reads but the request log and metrics count. A streamed
response needs none of this: Starlette cancels its body when the client disconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import HTTPException, Request

T = TypeVar("T")

CLIENT_CLOSED_REQUEST = 499


class ClientGoneError(HTTPException):
    def __init__(self) -> None:
        super().__init__(CLIENT_CLOSED_REQUEST, "the client closed the connection before the answer")


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """The result of `work`, which is cancelled when `request`'s client disconnects first (`ClientGoneError`)."""
    working = asyncio.ensure_future(work)
    watching = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, watching):
            if not task.done():
                task.cancel()
        await asyncio.gather(working, watching, return_exceptions=True)
    if working.cancelled():
        raise ClientGoneError()
    return working.result()
