"""The HTTP channel (`deskbot serve`): FastAPI app with the chat API, Slack endpoints and webhooks, run by uvicorn."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.http.serve_environment import (
    ANSWERS_ELSEWHERE_ENV,
    HEADER_TIMEOUT_ENV,
    pass_configuration_on,
    shared_metrics_dir,
)
from adapters.http.settings import ServerSettings, SlackSettings, WebhookSettings

if TYPE_CHECKING:
    from bot.adapter import AdapterContext
    from bot.config import Section

log = logging.getLogger(__name__)


class HttpServer:
    """The `http` adapter: `run(host=..., port=..., workers=...)` serves the app until interrupted.

    uvicorn runs the app in `server.workers` processes (one: this process) that verify, queue and acknowledge webhook
    deliveries and serve the chat API; `server.answer_processes` more answer the queued deliveries at a lower CPU
    priority (`adapters.http.answer_process`), are restarted when they die and report their readiness to /readyz
    through a shared folder (`adapters.http.answer_status`); with `server.answering = "external"` none start, and
    `deskbot worker` answers instead (`adapters.http.worker_commands`). Every process builds its runtime from the same
    configuration (`adapters.http.serve_environment:runtime_from_environment`) and shares the database; /metrics adds
    up all of them.
    """

    settings_sections: ClassVar[dict[str, type[Section]]] = {
        "server": ServerSettings,
        "slack": SlackSettings,
        "webhooks": WebhookSettings,
    }

    def __init__(self, context: AdapterContext) -> None:
        self._context = context

    def run(self, **options: Any) -> None:
        import uvicorn

        from bot.logging_setup import uvicorn_log_config

        settings = self._context.settings
        server = settings.section(ServerSettings)
        host = options.get("host") or server.host
        port = int(options.get("port") or server.port)
        workers = int(options.get("workers") or server.workers)
        # With `answering = "external"`, `deskbot worker` processes answer the queue: none start here.
        answer_processes = server.answer_processes if server.answering == "local" else 0
        # uvicorn's lines go through the handler of `bot.logging_setup` (the `[logging]` format), not its own.
        os.environ[HEADER_TIMEOUT_ENV] = str(server.header_timeout_s)
        from adapters.http.read_timeouts import ProtocolWithHeaderDeadline

        common: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_level": "info",
            "access_log": False,
            "log_config": uvicorn_log_config(),
            "http": ProtocolWithHeaderDeadline,
            "timeout_keep_alive": server.keep_alive_s,
        }
        if workers == 1 and not answer_processes:
            from adapters.http.app import serving_app

            uvicorn.run(serving_app(self._context), **common)
            return
        pass_configuration_on(settings)
        metrics_dir = shared_metrics_dir()
        status_dir = None
        answers = None
        if answer_processes:
            from adapters.http.answer_process import AnswerProcesses
            from adapters.http.answer_status import AnswerStatusBoard

            status_dir = tempfile.mkdtemp(prefix="deskbot-answers-")
            os.environ[ANSWERS_ELSEWHERE_ENV] = status_dir
            answers = AnswerProcesses(answer_processes, server.answer_niceness, AnswerStatusBoard(Path(status_dir)))
            answers.start()
        # uvicorn re-raises the SIGTERM it shut down on; exiting through Python instead lets the answer processes stop.
        previous = signal.signal(signal.SIGTERM, _exit_quietly)
        try:
            uvicorn.run("adapters.http.app:app_from_environment", factory=True, workers=workers, **common)
        finally:
            if answers is not None:
                answers.stop()
            signal.signal(signal.SIGTERM, previous)
            shutil.rmtree(metrics_dir, ignore_errors=True)
            if status_dir is not None:
                shutil.rmtree(status_dir, ignore_errors=True)


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)
