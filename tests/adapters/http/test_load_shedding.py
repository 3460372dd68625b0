"""`InFlightLimit` in the app: a request over `[server] max_in_flight` is refused from its path alone, before any other
middleware runs and before a byte of its body is read."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.http.app import build_context, create_app
from adapters.http.load_shedding import lane_of


def http_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"20")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def test_a_shed_request_is_refused_before_its_body_is_read_or_it_is_logged(runtime, caplog):
    runtime.settings.server.max_in_flight = 1
    runtime.settings.server.shed_retry_after_s = 3
    app = create_app(build_context(runtime.adapter_context()))
    never = asyncio.Event()

    async def body_never_comes() -> dict[str, Any]:
        await never.wait()
        raise AssertionError("unreachable")

    async def ignore(_message: dict[str, Any]) -> None:
        pass

    # the one place of the /v1 lane, held by a request whose body is still on its way
    holding = asyncio.create_task(app(http_scope("/v1/chat"), body_never_comes, ignore))
    await asyncio.sleep(0.05)
    reads: list[str] = []
    sent: list[dict[str, Any]] = []

    async def recorded_receive() -> dict[str, Any]:
        reads.append("receive")
        return {"type": "http.request", "body": b'{"message": "hello"}', "more_body": False}

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level("INFO", logger="deskbot.requests")
    await app(http_scope("/v1/chat"), recorded_receive, record)
    start = sent[0]
    assert start["status"] == 503 and (b"retry-after", b"3") in start["headers"]
    assert reads == [], "the body of a shed request is never read"
    assert all(name != b"x-request-id" for name, _ in start["headers"]), "refused before the request log's work"
    assert "POST /v1/chat" not in caplog.text
    holding.cancel()
    await asyncio.gather(holding, return_exceptions=True)


def test_lanes_are_the_first_path_segment():
    assert lane_of("/v1/chat/stream") == "/v1" == lane_of("/v1")
    assert lane_of("/slack/events") == "/slack"
