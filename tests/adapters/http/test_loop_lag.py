"""`LoopLag` and `[server] max_loop_lag_ms`: while the event loop stays behind, the chat lanes are shed and Slack is
still acknowledged; one pause does not count as overload."""

from __future__ import annotations

import asyncio
import time

import httpx

from adapters.http.app import build_context, create_app
from adapters.http.loop_lag import LoopLag
from tests.adapters.http.conftest import fixture, json_body, slack_headers


async def hold_the_loop(times: int, seconds: float) -> None:
    """Run `times` callbacks of `seconds` each, as a process whose event loop has more work than CPU."""
    for _ in range(times):
        time.sleep(seconds)
        await asyncio.sleep(0)


async def eventually_admitted(client: httpx.AsyncClient, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (await client.post("/v1/chat", json={"message": "hi"})).status_code == 401:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_loop_that_stays_behind_is_measured_and_one_pause_is_not_overload():
    lag = LoopLag(interval_s=0.005)
    watching = asyncio.create_task(lag.watch())
    await asyncio.sleep(0.05)
    await hold_the_loop(1, 0.04)
    await asyncio.sleep(0)
    assert lag.behind_s < 0.025, "a single pause is smoothed away"
    await hold_the_loop(12, 0.06)
    assert lag.behind_s > 0.03
    await asyncio.sleep(0.3)
    assert lag.behind_s < 0.01, "caught up again"
    watching.cancel()


def test_lateness_is_smoothed_and_never_negative():
    lag = LoopLag()
    lag.record(-0.001)
    assert lag.behind_s == 0.0
    for _ in range(30):
        lag.record(0.1)
    assert 0.099 < lag.behind_s <= 0.1


async def test_while_the_loop_is_behind_chats_get_503_and_slack_is_acknowledged(http_runtime):
    server = http_runtime.settings.server
    server.max_loop_lag_ms = 30
    server.shed_retry_after_s = 2
    app = create_app(build_context(http_runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        await app.state.deskbot.responder.warm_up()  # loading the models in a thread keeps the loop behind too
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            assert await eventually_admitted(client), "admitted (401: no key) once the loop keeps up"
            await hold_the_loop(10, 0.1)
            shed = await client.post("/v1/chat", json={"message": "hi"})
            assert shed.status_code == 503 and shed.headers["Retry-After"] == "2", "refused before the key check"
            body = json_body(fixture("slack_url_verification.json"))
            headers = {"Content-Type": "application/json", **slack_headers(body)}
            assert (await client.post("/slack/events", content=body, headers=headers)).status_code == 200
            assert (await client.get("/healthz")).status_code == 200
            assert await eventually_admitted(client), "admitted again once the loop caught up"


async def test_lag_shedding_is_off_by_default(http_runtime):
    app = create_app(build_context(http_runtime.adapter_context()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://deskbot.test") as client:
            await hold_the_loop(12, 0.06)
            assert (await client.post("/v1/chat", json={"message": "hi"})).status_code == 401
