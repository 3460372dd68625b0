"""A real `deskbot serve` for the fault tests: started as a user starts it (`python -m bot serve`), in a process of
its own, on loopback, with the hash embedder and a FakeLLM that takes `llm_delay_s` per answer (`slow_runtime`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil

from tests.adapters.http.conftest import SIGNING_SECRET
from tests.deskbot_process import free_port

if TYPE_CHECKING:
    from bot.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
LLM_DELAY_ENV = "DESKBOT_FAULTS_LLM_DELAY_S"


def slow_runtime() -> Runtime:
    """Every server process's runtime (`DESKBOT_SERVE_RUNTIME`): the env's settings, a FakeLLM that takes a while."""
    from bot.config import load_settings
    from bot.llm.fake import FakeLLM
    from bot.plugins import PluginRegistry
    from bot.runtime import Runtime

    llm = FakeLLM(first_token_delay_s=float(os.environ.get(LLM_DELAY_ENV, "0")))
    llm.calls = deque(maxlen=10)  # type: ignore[assignment]  # it records every prompt otherwise
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _settings: llm)
    return Runtime(load_settings(), registry)


class ServeProcess:
    """`deskbot serve` in `folder` (its data, queue and cwd), answering Slack through `slack_api_url`."""

    def __init__(self, folder: Path, slack_api_url: str, llm_delay_s: float = 0.0, **server: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1",
            "DESKBOT_SERVE_RUNTIME": "tests.faults.serve_process:slow_runtime",
            LLM_DELAY_ENV: str(llm_delay_s),
            "DESKBOT_DATA_DIR": str(folder / "data"),
            "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
            "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
            "DESKBOT_LLM__BACKEND": "fake",
            "DESKBOT_ANSWER__MIN_SCORE": "0.1",
            "DESKBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET,
            "DESKBOT_SLACK__BOT_TOKEN": "xoxb-faults",
            "DESKBOT_SLACK__API_URL": slack_api_url,
            **{f"DESKBOT_SERVER__{key.upper()}": value for key, value in server.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        self.port = free_port()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--port", str(self.port)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def descendants(self) -> list[psutil.Process]:
        """The processes it started (answer processes, multiprocessing's resource tracker), alive or not reaped."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    async def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"deskbot serve was not ready after {timeout_s}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9, as the OOM killer or a crashed host would: nothing of it runs its shutdown."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie has stopped; only its parent's wait is missing)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            continue
    return running


async def wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Wait up to `timeout_s` for `processes` to stop; returns those still alive then."""
    deadline = time.monotonic() + timeout_s
    while alive(processes) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return alive(processes)
