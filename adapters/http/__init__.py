"""The HTTP channel (`deskbot serve`): FastAPI app with the chat API, Slack endpoints and webhooks, run by uvicorn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime import Runtime

# How `deskbot serve` tells its worker processes what the parent was given on the command line.
CONFIG_FILE_ENV = "DESKBOT_SERVE_CONFIG_FILE"
KNOWLEDGE_ENV = "DESKBOT_SERVE_KB"


class HttpServer:
    """The `http` adapter: `run(host=..., port=..., workers=...)` serves the app until interrupted.

    One worker serves `create_app(runtime)` in this process; several are uvicorn worker processes that each build
    their runtime from the same configuration (`adapters.http.app:app_from_environment`) and share the database.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def run(self, **options: Any) -> None:
        import uvicorn

        from adapters.http.app import create_app

        settings = self._runtime.settings
        host = options.get("host") or settings.server.host
        port = int(options.get("port") or settings.server.port)
        workers = int(options.get("workers") or settings.server.workers)
        common: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "access_log": False}
        if workers == 1:
            uvicorn.run(create_app(self._runtime), **common)
            return
        if settings.config_file is not None:
            os.environ[CONFIG_FILE_ENV] = str(settings.config_file)
        if settings.knowledge.path is not None:
            os.environ[KNOWLEDGE_ENV] = str(settings.knowledge.path)
        uvicorn.run("adapters.http.app:app_from_environment", factory=True, workers=workers, **common)
