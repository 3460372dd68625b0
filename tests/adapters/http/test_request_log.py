"""`RequestLog`: an id for each request, in the response header and on every line logged while it runs."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from adapters.http.request_log import RequestLog
from bot.logging_setup import current_context


async def echo_context(request: Request) -> PlainTextResponse:
    logging.getLogger("bot.test").warning("inside the request")
    return PlainTextResponse(current_context().get("request_id", "-"))


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/echo", echo_context)])
    app.add_middleware(RequestLog)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_each_request_gets_an_id_in_its_context_and_header(client: httpx.AsyncClient) -> None:
    first = await client.get("/echo")
    second = await client.get("/echo")
    assert first.headers["x-request-id"] == first.text and len(first.text) == 32
    assert second.text != first.text


async def test_a_well_formed_caller_id_is_kept_and_a_strange_one_replaced(client: httpx.AsyncClient) -> None:
    kept = await client.get("/echo", headers={"X-Request-ID": "lb-7f3a.01"})
    assert kept.text == "lb-7f3a.01" == kept.headers["x-request-id"]
    replaced = await client.get("/echo", headers={"X-Request-ID": "a b\x7f" + "x" * 80})
    assert replaced.text != "a b" and len(replaced.text) == 32


async def test_the_closing_line_has_status_and_latency(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="deskbot.requests"):
        response = await client.get("/missing")
    (line,) = [record for record in caplog.records if record.name == "deskbot.requests"]
    assert response.status_code == 404 and line.getMessage() == "GET /missing 404"
    assert line.status == 404 and line.latency_ms >= 0  # type: ignore[attr-defined]
