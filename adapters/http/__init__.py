"""The HTTP channel (`deskbot serve`): FastAPI app with the chat API, Slack endpoints and webhooks, run by uvicorn."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.http.settings import ServerSettings, SlackSettings, WebhookSettings

if TYPE_CHECKING:
    from bot.adapter import AdapterContext
    from bot.config import Section

log = logging.getLogger(__name__)

# How `deskbot serve` tells its worker processes what the parent was given on the command line.
CONFIG_FILE_ENV = "DESKBOT_SERVE_CONFIG_FILE"
KNOWLEDGE_ENV = "DESKBOT_SERVE_KB"
RUNTIME_FACTORY_ENV = "DESKBOT_SERVE_RUNTIME"
ANSWERS_ELSEWHERE_ENV = "DESKBOT_SERVE_ANSWERS_ELSEWHERE"
# prometheus_client's multiprocess mode: every process writes its metrics there, /metrics adds them up. Set before
# prometheus_client is imported (it picks its value store then), so this module must not import it.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class HttpServer:
    """The `http` adapter: `run(host=..., port=..., workers=...)` serves the app until interrupted.

    uvicorn runs the app in `server.workers` processes (one: this process) that verify, queue and acknowledge webhook
    deliveries and serve the chat API; `server.answer_processes` more answer the queued deliveries at a lower CPU
    priority (`adapters.http.answer_process`). Every process builds its runtime from the same configuration
    (`adapters.http.app:runtime_from_environment`) and shares the database; /metrics adds up all of them.
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

        settings = self._context.settings
        server = settings.section(ServerSettings)
        host = options.get("host") or server.host
        port = int(options.get("port") or server.port)
        workers = int(options.get("workers") or server.workers)
        answer_processes = server.answer_processes
        common: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "access_log": False}
        if workers == 1 and not answer_processes:
            from adapters.http.app import serving_app

            uvicorn.run(serving_app(self._context), **common)
            return
        if settings.config_file is not None:
            os.environ[CONFIG_FILE_ENV] = str(settings.config_file)
        if settings.knowledge.path is not None:
            os.environ[KNOWLEDGE_ENV] = str(settings.knowledge.path)
        metrics_dir = _shared_metrics_dir()
        answers = None
        if answer_processes:
            from adapters.http.answer_process import AnswerProcesses

            os.environ[ANSWERS_ELSEWHERE_ENV] = "1"
            answers = AnswerProcesses(answer_processes, server.answer_niceness)
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


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _shared_metrics_dir() -> str:
    """A fresh folder for prometheus_client's multiprocess mode, announced to every process started from here."""
    folder = tempfile.mkdtemp(prefix="deskbot-metrics-")
    os.environ[METRICS_DIR_ENV] = folder
    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported before %s was set: /metrics may miss some counts", METRICS_DIR_ENV)
    return folder
