"""`RequestLog`: an ASGI middleware that gives each HTTP request an id and logs one line when it is answered.

The id is the caller's `X-Request-ID` when it looks like one (up to 64 characters of letters, digits, `-`, `_`,
`.`, so a proxy's id carries through), else a new random one (32 hex digits from Python's own generator, not
`uuid4`: an id needs to be unique, not secret, and `os.urandom` lets go of the GIL, which a busy thread then holds up
to a switch interval while the request waits); it is set as the `request_id` log context
(`bot.logging_setup.log_context`) for everything logged while the request runs, and returned in the response's
`X-Request-ID` header. The closing line, at INFO on `deskbot.requests`, carries method, path, status and
`latency_ms` (to the end of the response body, so a stream's line comes when the stream ends).
"""

from __future__ import annotations

import logging
import random
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logging_setup import log_context

log = logging.getLogger("deskbot.requests")

HEADER = b"x-request-id"
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == HEADER:
            candidate = str(value.decode("latin-1"))
            if ACCEPTED_ID.fullmatch(candidate):
                return candidate
    return f"{random.getrandbits(128):032x}"


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode("latin-1"))]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, tagged)
            finally:
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "%s %s %d",
                        scope["method"],
                        scope["path"],
                        status,
                        extra={"latency_ms": round((time.perf_counter() - started) * 1000, 1), "status": status},
                    )
