"""`InFlightLimit`: an ASGI middleware that sheds load: beyond `max_in_flight` requests at once, 503 + Retry-After.

Without a bound every request is admitted, and when they arrive faster than the process answers them each one waits
behind all the others: latency grows without limit, and every caller times out together. Here a request over the
bound is refused at once, before its body is read, so the caller (Slack, a webhook sender, an API client) retries
after `Retry-After` seconds and those admitted are answered in time. The bound counts a request until its response
is complete (a streamed answer holds its place while it streams), and holds per process and per lane: the first
segment of the path (`/v1`, `/slack`, `/webhooks`, ...), so a flood of slow chat requests never takes the places of
the Slack acknowledgements, which take milliseconds. The operations routes (`/healthz`, `/readyz`, `/metrics`) are
always admitted, so a load balancer and Prometheus still see the server. With `lag_shedding`, new requests of the
lanes a process answers itself (the chat lanes) are refused as well while its event loop is behind
(`adapters.http.loop_lag`): the bound on requests in flight does not bound the CPU they need. With `place_shedding`,
a chat turn (`paths`) is refused here as well while the answer processes have no place for it and no room in the wait
queue (`adapters.http.answer_channel`): the route would refuse it anyway, after parsing its body and checking its key
(a thread hop and a database read), which under a flood of chats was most of the HTTP process's CPU per request.

It is the app's outermost middleware (`adapters.http.app`): the refusal is decided from the path alone, before the
request is logged or measured and before its body is read, so it costs a few microseconds of the event loop however
busy the process is. uvicorn's own `limit_concurrency` is not used: it counts connections (idle keep-alive ones
too), and one count for all, so a flood of chat connections would refuse the Slack acknowledgements as well.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.http.loop_lag import LoopLag

log = logging.getLogger(__name__)

OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
LOG_EVERY_S = 10.0


@dataclass(frozen=True)
class LagShedding:
    """Refuse new requests of `lanes` while `lag` says the event loop is more than `max_lag_s` behind
    (`adapters.http.loop_lag`)."""

    lag: LoopLag
    max_lag_s: float
    lanes: frozenset[str]


@dataclass(frozen=True)
class PlaceShedding:
    """Refuse new requests for `paths` while `no_place()` (no answer place free, no room to wait for one)."""

    no_place: Callable[[], bool]
    paths: frozenset[str]


class InFlightLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int,
        on_shed: Callable[[], None] | None = None,
        always_admitted: frozenset[str] = OPERATIONS_PATHS,
        lag_shedding: LagShedding | None = None,
        place_shedding: PlaceShedding | None = None,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight: dict[str, int] = {}  # lane -> requests in flight
        self._retry_after = str(retry_after_s).encode()
        self._on_shed = on_shed or (lambda: None)
        self._always_admitted = always_admitted
        self._lag_shedding = lag_shedding
        self._place_shedding = place_shedding
        self._shed_since_log = 0
        self._logged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._always_admitted:
            await self.app(scope, receive, send)
            return
        lane = lane_of(scope["path"])
        in_flight = self.in_flight.get(lane, 0)
        if in_flight >= self.max_in_flight:
            await self._shed(send, "%d %s requests in flight (server.max_in_flight)", in_flight, lane)
            return
        shedding = self._lag_shedding
        if shedding is not None and lane in shedding.lanes and shedding.lag.behind_s > shedding.max_lag_s:
            behind_ms = shedding.lag.behind_s * 1000
            await self._shed(
                send, "the event loop is %.0f ms behind (server.max_loop_lag_ms), refusing %s", behind_ms, lane
            )
            return
        places = self._place_shedding
        if places is not None and scope["path"] in places.paths and places.no_place():
            await self._shed(send, "no answer place is free for %s (server.chat_queue)", scope["path"])
            return
        self.in_flight[lane] = in_flight + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[lane] -= 1

    async def _shed(self, send: Send, why: str, *details: object) -> None:
        self._on_shed()
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:  # one line per interval, not one per refused request
            log.warning(
                "overloaded: " + why + "; refused %d with 503 since the last line", *details, self._shed_since_log
            )
            self._logged_at, self._shed_since_log = now, 0
        body = json.dumps({"detail": "the server is busy; retry later"}).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", self._retry_after),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def lane_of(path: str) -> str:
    """`/v1/chat/stream` -> `/v1`: requests of one lane share its `max_in_flight` places."""
    return "/" + path.lstrip("/").split("/", 1)[0]
