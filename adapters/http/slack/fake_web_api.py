"""`FakeSlackWebApi`: a local stand-in for Slack's Web API and response URLs, for tests, demos and benchmarks.

It listens on 127.0.0.1, records every call (`calls`), answers `{"ok": true, ...}`, and can be told to fail the next
calls of a method (`fail_next`): with 429 + Retry-After, an HTTP error, or a Slack `{"ok": false, "error": ...}`.
Point the app at it with `[slack] api_url = fake.api_url`; response URLs can be `fake.url("/hooks/...")`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class RecordedCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    received_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class FakeSlackWebApi:
    host: str = "127.0.0.1"
    calls: list[RecordedCall] = field(default_factory=list)
    _failures: dict[str, deque[Failure]] = field(default_factory=lambda: defaultdict(deque))
    _runner: web.AppRunner | None = None
    port: int = 0
    _changed: asyncio.Condition | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/"

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def fail_next(self, method: str, failure: Failure, times: int = 1) -> None:
        self._failures[method].extend([failure] * times)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def start(self) -> FakeSlackWebApi:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/hooks/{path:.*}", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._changed = asyncio.Condition()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_calls(self, count: int, timeout_s: float = 10.0) -> list[RecordedCall]:
        """Wait until at least `count` calls were recorded; TimeoutError otherwise."""
        assert self._changed is not None
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.calls) >= count)
        return list(self.calls)

    async def _record(self, method: str, request: web.Request) -> None:
        raw = await request.read()
        params: dict[str, Any]
        if request.content_type == "application/json":
            params = json.loads(raw or b"{}")
        else:
            params = dict((await request.post()).items()) if raw else {}
        self.calls.append(RecordedCall(method, params, dict(request.headers)))
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def _failure(self, method: str) -> web.Response | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue.popleft()
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        body = {"ok": False, "error": failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")}
        return web.json_response(body, status=failure.status, headers=headers)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        await self._record(method, request)
        failed = self._failure(method)
        if failed is not None:
            return failed
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "U0LAN0Z89", "bot_id": "BB12033", "team_id": "T123ABC456"})
        return web.json_response({"ok": True, "channel": "C0", "ts": f"{len(self.calls)}.000100"})

    async def _hook(self, request: web.Request) -> web.Response:
        path = "/hooks/" + request.match_info["path"]
        await self._record(path, request)
        failed = self._failure(path)
        return failed if failed is not None else web.Response(text="ok")
