"""The HTTP channel (`deskbot serve`): FastAPI app with the chat API, Slack endpoints and webhooks, run by uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime import Runtime


class HttpServer:
    """The `http` adapter: `run(host=..., port=...)` serves `create_app(runtime)` until interrupted."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def run(self, **options: Any) -> None:
        import uvicorn

        from adapters.http.app import create_app

        server = self._runtime.settings.server
        host = options.get("host") or server.host
        port = options.get("port") or server.port
        uvicorn.run(create_app(self._runtime), host=host, port=int(port), log_level="info", access_log=False)
