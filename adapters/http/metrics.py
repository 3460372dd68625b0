"""Prometheus metrics of the HTTP app: requests and their latency, replies, tokens, abstentions and handoffs.

Each app has its own `CollectorRegistry`, so several apps (tests, workers in one process) never collide. When
`deskbot serve` runs several processes, it sets `PROMETHEUS_MULTIPROC_DIR`: each process then writes its values there
and /metrics reports the sum over all of them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.http.serve_environment import METRICS_DIR_ENV
from bot.types import Reply

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, count_tokens: Callable[[str], int] | None = None) -> None:
        self.registry = CollectorRegistry()
        self._count_tokens = count_tokens or (lambda text: len(text.split()))
        self.requests = Counter(
            "deskbot_http_requests", "HTTP requests served.", ["method", "route", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "deskbot_http_request_duration_seconds",
            "Time to the HTTP response (for webhooks: to the acknowledgement).",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.replies = Counter("deskbot_replies", "Replies sent.", ["channel", "kind"], registry=self.registry)
        self.reply_seconds = Histogram(
            "deskbot_reply_duration_seconds",
            "Time to the whole reply.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "deskbot_reply_tokens",
            "Tokens in replies (words, unless a tokenizer is given).",
            ["channel"],
            registry=self.registry,
        )
        self.abstentions = Counter(
            "deskbot_abstentions", "Replies where the bot did not know.", ["channel"], registry=self.registry
        )
        self.handoffs = Counter(
            "deskbot_handoffs", "Replies handing off to a person.", ["channel"], registry=self.registry
        )
        self.corrected = Counter(
            "deskbot_corrected_replies",
            "Replies that replaced a generated or streamed one failing its checks (claims, guard), by kind.",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.undelivered = Counter(
            "deskbot_undelivered_replies",
            "Acknowledged deliveries given up after their last attempt (see Deliveries.undelivered).",
            ["source"],
            registry=self.registry,
        )
        self.shed = Counter(
            "deskbot_http_shed_requests",
            "Requests refused with 503 as overload (server.max_in_flight, or no chat answer place: server.chat_queue).",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "deskbot_duplicate_deliveries", "Webhook deliveries ignored as repeats.", ["source"], registry=self.registry
        )

    def record_reply(self, channel: str, reply: Reply) -> None:
        self.replies.labels(channel, reply.kind).inc()
        self.reply_seconds.labels(channel).observe(reply.latency_ms / 1000.0)
        self.tokens.labels(channel).inc(self._count_tokens(reply.text))
        if reply.abstained:
            self.abstentions.labels(channel).inc()
        if reply.handoff:
            self.handoffs.labels(channel).inc()
        if reply.corrected:
            self.corrected.labels(channel, reply.kind).inc()

    def render(self) -> bytes:
        folder = os.environ.get(METRICS_DIR_ENV)
        if not folder:
            return generate_latest(self.registry)
        everyone = CollectorRegistry()
        multiprocess.MultiProcessCollector(everyone, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(everyone)


class RequestMetrics:
    """ASGI middleware counting requests by route template (not raw path, which would explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = _route_of(scope)
                self.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
                self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            await send(message)

        await self.app(scope, receive, observe)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
