import httpx
import pytest
from fastapi import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from adapters.http.limits import BodySizeLimit, PrincipalRateLimit
from adapters.http.principals import Principal
from bot.rate_limits import RateLimiter
from tests.adapters.http.conftest import answered, fixture, json_body


def echo_length_app(max_bytes: int) -> BodySizeLimit:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    return BodySizeLimit(Starlette(routes=[Route("/", echo, methods=["POST"])]), max_bytes)


async def test_declared_and_streamed_bodies_over_the_limit_are_413():
    transport = httpx.ASGITransport(app=echo_length_app(100))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/", content=b"x" * 100)).text == "100"
        assert (await client.post("/", content=b"x" * 101)).status_code == 413

        async def chunks():
            for _ in range(5):
                yield b"x" * 50

        assert (await client.post("/", content=chunks())).status_code == 413


async def test_slack_body_over_1_mb_is_413_before_verification(slack, context, fake_slack):
    payload = fixture("slack_app_mention.json")
    payload["event"]["text"] = "x" * (1024 * 1024)
    response = await slack.post("/slack/events", json_body(payload), "application/json")
    assert response.status_code == 413
    await answered(context, 5)
    assert fake_slack.calls == []


async def test_each_principal_has_its_own_request_limit_with_retry_after():
    limits = PrincipalRateLimit(RateLimiter(2, 60.0))
    busy, other = Principal.api_key("busy"), Principal.api_key("other")
    await limits.admit(busy)
    await limits.admit(busy)
    with pytest.raises(HTTPException) as refused:
        await limits.admit(busy)
    assert refused.value.status_code == 429 and refused.value.headers == {"Retry-After": "60"}
    assert "api:busy" in str(refused.value.detail)
    await limits.admit(other)
