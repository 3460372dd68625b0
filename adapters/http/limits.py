"""Limits of the HTTP app: the body size of every request, and the request rate of each API caller.

`BodySizeLimit`: an ASGI middleware that refuses request bodies over `max_bytes` with 413, before any route runs. A
declared Content-Length over the limit is refused without reading; a chunked body is counted as it is read, and
once over the limit the app sees a disconnect and its own answer is dropped.

`PrincipalRateLimit`: at most `[server] api_rate_limit_requests` per `api_rate_limit_window_s` for each authenticated
caller (`adapters.http.principals.Principal`: an API key), 429 with `Retry-After` beyond. It counts the caller, not a
body field, so a caller that changes `user_id` at every request still meets it. It counts where `[store] rate_limits`
says (`bot.rate_limits`: in the database, one count for every instance on the store; or in each process), like the
guard stage's per-customer limit (`[guard] rate_limit_messages`), which still applies inside it: for an API key, to
each `user_id` it sends; for Slack and Discord users, whom the platform authenticated, it is the limit.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.principals import Principal
from bot.rate_limits import RateLimit, allow


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not refused:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already; whatever the app answers to the cut-off body is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body is larger than {self.max_bytes} bytes"}).encode()
        headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class PrincipalRateLimit:
    def __init__(self, limiter: RateLimit) -> None:
        self._limiter = limiter

    async def admit(self, principal: Principal) -> None:
        """Count one request of `principal`; 429 with `Retry-After` when it is over its limit."""
        key = str(principal)
        if not await allow(self._limiter, key):
            retry_after = max(1, math.ceil(self._limiter.retry_after_s(key)))
            detail = f"too many requests from {principal}; retry in {retry_after}s"
            raise HTTPException(429, detail, {"Retry-After": str(retry_after)})
