"""Answer workers as a service of their own: a real HTTP-only `deskbot serve` (`[server] answering = "external"`) and
real `deskbot worker` processes on one store, on loopback, with the hash embedder and a FakeLLM
(`tests.faults.serve_process`), answering a signed Slack event through the fake Slack Web API.

- SQLite file: /readyz is 503 ("no answer worker") until a worker beats `ready` in the store, then 200; the event,
  acknowledged before any worker ran, is answered once; `deskbot worker --check` says no, then yes; SIGTERM stops the
  worker with no process left behind and its heartbeat gone, and /readyz is 503 again.
- PostgreSQL: a worker killed with kill -9 (it and its answer process) while it holds the job: a second worker
  answers it once the lease has run out, once.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from adapters.http.slack.fake_web_api import FakeSlackWebApi
from adapters.http.worker_heartbeats import WorkerHeartbeats
from bot.cli.main import app
from bot.store.database import Database
from tests.adapters.http.conftest import fixture, slack_headers
from tests.faults.serve_process import ServeProcess, alive, wait_gone
from tests.postgres_server import database_of_its_own

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEASE_S = 4.0


class WorkerProcess(ServeProcess):
    """`deskbot worker --processes N` in `folder`, configured like a `ServeProcess` (it listens on no port)."""

    def __init__(self, folder: Path, store_url: str, slack_api_url: str, llm_delay_s: float = 0.0) -> None:
        folder.mkdir(exist_ok=True)
        super().__init__(folder, slack_api_url, llm_delay_s, answer_lease_s=str(LEASE_S), answer_concurrency="4")
        self.env["DESKBOT_STORE__URL"] = store_url
        self.log = folder / "worker.log"
        self.store_url = store_url

    def start(self, processes: int = 1) -> WorkerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--processes", str(processes)],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        return self

    def check(self) -> Result:
        """`deskbot worker --check` (the container's health check), in this process: an interpreter's start less."""
        return CliRunner().invoke(app, ["worker", "--check"], env={"DESKBOT_STORE__URL": self.store_url})

    async def wait_beating_ready(self, timeout_s: float = 90.0) -> None:
        """Until an answer process of this worker says `ready` in the store."""
        heartbeats = WorkerHeartbeats(Database(self.store_url))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
            pids = {str(process.pid) for process in self.descendants()}
            if any(beat.state == "ready" and beat.worker_id.split(":")[-1] in pids for beat in heartbeats.beats()):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"deskbot worker was not ready after {timeout_s}s:\n{self.log.read_text()[-3000:]}")


def http_only_serve(folder: Path, store_url: str, slack_api_url: str) -> ServeProcess:
    folder.mkdir()
    serve = ServeProcess(folder, slack_api_url, answering="external", answer_lease_s=str(LEASE_S))
    serve.env["DESKBOT_STORE__URL"] = store_url
    return serve


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test PostgreSQL, so that no other test's jobs or workers are in it."""
    with database_of_its_own(postgres_url, "workers") as url:
        yield url


def mention(index: int) -> bytes:
    payload = fixture("slack_app_mention.json")
    payload["event_id"] = f"EvWorker{index:04d}"
    payload["event"]["ts"] = payload["event"]["event_ts"] = f"1700000000.{index:06d}"
    return json.dumps(payload).encode()


async def post_event(url: str, index: int) -> None:
    body = mention(index)
    headers = {"Content-Type": "application/json", **slack_headers(body)}
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(f"{url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def loaded_readyz(serve: ServeProcess, timeout_s: float = 90.0) -> httpx.Response:
    """/readyz once serve's own models are loaded (it may still wait for a worker)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=serve.url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            assert serve.process is not None and serve.process.poll() is None, serve.log.read_text()[-3000:]
            try:
                response = await client.get("/readyz")
                if response.json()["status"] not in {"loading", "failed"}:
                    return response
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"deskbot serve did not load in {timeout_s}s:\n{serve.log.read_text()[-3000:]}")


def replied_threads(fake_slack: FakeSlackWebApi) -> list[str]:
    return sorted(call.params["thread_ts"] for call in fake_slack.calls_to("chat.postMessage"))


def scalar(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = int(connection.execute(text(sql)).scalar_one())
    engine.dispose()
    return value


def stop_all(*processes: ServeProcess) -> None:
    for process in processes:
        for child in alive(process.descendants()):
            child.kill()
        process.stop()


async def test_http_only_serve_waits_for_a_worker_that_answers_once_and_stops_on_sigterm(tmp_path, fake_slack):
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    serve = http_only_serve(tmp_path / "serve", store_url, fake_slack.api_url)
    worker = WorkerProcess(tmp_path / "worker", store_url, fake_slack.api_url)
    try:
        serve.start()
        waiting = await loaded_readyz(serve)
        assert waiting.status_code == 503, waiting.text
        assert waiting.json()["status"] == "no answer worker"
        assert "no answer worker has beaten" in waiting.json()["answer_workers"]
        assert serve.descendants() == [], "an HTTP-only serve started answer processes"
        await post_event(serve.url, 1)  # acknowledged and queued, with nothing to answer it yet
        refused = worker.check()
        assert refused.exit_code == 1 and "no answer worker has beaten" in refused.output, refused.output

        worker.start()
        await serve.wait_ready()
        ready = (await loaded_readyz(serve)).json()
        assert ready["status"] == "ready" and "1 answer worker(s) ready" in ready["answer_workers"]
        await fake_slack.wait_for_calls(1, timeout_s=20.0)
        await asyncio.sleep(1.0)  # a second reply would have arrived by now
        assert replied_threads(fake_slack) == ["1700000000.000001"]
        checked = worker.check()
        assert checked.exit_code == 0 and "1 answer worker(s) ready" in checked.output, checked.output

        processes = [psutil.Process(worker.pid), *worker.descendants()]
        assert worker.process is not None
        worker.process.terminate()
        assert worker.process.wait(30) == 0, worker.log.read_text()[-3000:]
        assert await wait_gone(processes, 5.0) == []
        assert scalar(store_url, "SELECT count(*) FROM answer_workers") == 0
        stopped = await loaded_readyz(serve)
        assert stopped.status_code == 503 and stopped.json()["status"] == "no answer worker"
    finally:
        stop_all(worker, serve)


async def test_a_job_held_by_a_worker_killed_with_kill_9_is_answered_by_another_after_the_lease(
    tmp_path, fake_slack, postgres_store
):
    serve = http_only_serve(tmp_path / "serve", postgres_store, fake_slack.api_url)
    # The first answers slower than the lease is long, so it still holds the job when it is killed.
    slow = WorkerProcess(tmp_path / "slow", postgres_store, fake_slack.api_url, llm_delay_s=LEASE_S + 20.0)
    fast = WorkerProcess(tmp_path / "fast", postgres_store, fake_slack.api_url)
    try:
        serve.start()
        slow.start()
        await asyncio.gather(serve.wait_ready(), slow.wait_beating_ready())
        await post_event(serve.url, 2)
        deadline = time.monotonic() + 10.0
        while scalar(postgres_store, "SELECT count(*) FROM answer_jobs WHERE state = 'taken'") == 0:
            assert time.monotonic() < deadline, "the slow worker did not take the job"
            await asyncio.sleep(0.05)
        processes = [psutil.Process(slow.pid), *slow.descendants()]
        for process in alive(processes):
            process.kill()
        assert await wait_gone(processes, 5.0) == []
        # Nothing of the killed worker released the job: it waits for its lease.
        assert scalar(postgres_store, "SELECT count(*) FROM answer_jobs WHERE state = 'taken'") == 1

        fast.start()
        await fake_slack.wait_for_calls(1, timeout_s=LEASE_S + 60.0)
        await asyncio.sleep(1.0)  # a second reply would have arrived by now
        assert replied_threads(fake_slack) == ["1700000000.000002"]
        assert scalar(postgres_store, "SELECT count(*) FROM answer_jobs") == 0
    finally:
        stop_all(fast, slow, serve)
