"""How `deskbot serve` and `deskbot worker` pass what they were given to the processes they start (uvicorn workers,
answer processes): environment variables, read back by `runtime_from_environment` in each process."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# How `deskbot serve` tells its worker processes what the parent was given on the command line.
CONFIG_FILE_ENV = "DESKBOT_SERVE_CONFIG_FILE"
KNOWLEDGE_ENV = "DESKBOT_SERVE_KB"
RUNTIME_FACTORY_ENV = "DESKBOT_SERVE_RUNTIME"
# Set when answer processes answer the queue: the folder where they report their readiness (`AnswerStatusBoard`).
ANSWERS_ELSEWHERE_ENV = "DESKBOT_SERVE_ANSWERS_ELSEWHERE"
# `[server] header_timeout_s`, for uvicorn's HTTP protocol (`adapters.http.read_timeouts`) in every worker process.
HEADER_TIMEOUT_ENV = "DESKBOT_SERVE_HEADER_TIMEOUT_S"
# prometheus_client's multiprocess mode: every process writes its metrics there, /metrics adds them up. Set before
# prometheus_client is imported (it picks its value store then), so this module must not import it.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def pass_configuration_on(settings: Settings) -> None:
    """Announce the configuration file and `--kb` folder this process was given to the processes it starts."""
    if settings.config_file is not None:
        os.environ[CONFIG_FILE_ENV] = str(settings.config_file)
    if settings.knowledge.path is not None:
        os.environ[KNOWLEDGE_ENV] = str(settings.knowledge.path)


def runtime_from_configuration() -> Runtime:
    """The runtime `deskbot serve` was given: its configuration file and `--kb` folder, passed on in the env."""
    from bot.config import load_settings
    from bot.runtime import Runtime

    config_file = os.environ.get(CONFIG_FILE_ENV)
    settings = load_settings(Path(config_file) if config_file else None)
    knowledge = os.environ.get(KNOWLEDGE_ENV)
    if knowledge:
        settings.knowledge.path = Path(knowledge)
        settings.knowledge.index_dir = None
    return Runtime(settings)


def runtime_from_environment() -> Runtime:
    """The runtime of a worker process: from `DESKBOT_SERVE_RUNTIME` ("module:function", for embedding Deskbot in
    another program or a benchmark), else `runtime_from_configuration`."""
    factory = os.environ.get(RUNTIME_FACTORY_ENV)
    if not factory:
        return runtime_from_configuration()
    module, _, function = factory.partition(":")
    runtime: Runtime = getattr(importlib.import_module(module), function)()
    return runtime


def shared_metrics_dir() -> str:
    """A fresh folder for prometheus_client's multiprocess mode, announced to every process started from here."""
    folder = tempfile.mkdtemp(prefix="deskbot-metrics-")
    os.environ[METRICS_DIR_ENV] = folder
    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported before %s was set: /metrics may miss some counts", METRICS_DIR_ENV)
    return folder
