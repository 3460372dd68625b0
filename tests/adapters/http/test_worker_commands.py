"""`deskbot worker`: bad input and an unreachable store are refused with one clear error; `--check` follows this
host's heartbeats (the real worker processes run in tests/integration/test_answer_workers.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from adapters.http.worker_heartbeats import WorkerHeartbeats
from bot.cli.main import app
from bot.store.database import Database, StoreError


def test_processes_out_of_range_is_refused():
    for processes in ("0", "65"):
        result = CliRunner().invoke(app, ["worker", "--processes", processes])
        assert result.exit_code == 1 and "needs 1 to 64" in result.output


def test_check_without_a_reachable_store_fails_in_one_line(tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'missing-folder' / 'store.sqlite'}"
    result = CliRunner().invoke(app, ["worker", "--check"], env={"DESKBOT_STORE__URL": unreachable})
    # A `StoreError`: `bot.cli.main.run` prints it as one line and exits 1.
    assert isinstance(result.exception, StoreError) and "cannot open the database" in str(result.exception)


def test_check_follows_this_hosts_heartbeats(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setattr("socket.gethostname", lambda: "worker-7")
    heartbeats = WorkerHeartbeats(Database(url))
    heartbeats.beat("worker-7", 11, "loading")
    loading = CliRunner().invoke(app, ["worker", "--check"], env={"DESKBOT_STORE__URL": url})
    assert loading.exit_code == 1 and "worker-7:11 loading" in loading.output
    heartbeats.beat("worker-7", 11, "ready")
    ready = CliRunner().invoke(app, ["worker", "--check"], env={"DESKBOT_STORE__URL": url})
    assert ready.exit_code == 0 and "1 answer worker(s) ready: worker-7:11 ready" in ready.output
