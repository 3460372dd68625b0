"""deploy/docker-entrypoint.sh and deploy/healthcheck.py run here as the container runs them, with a stand-in
`deskbot` on PATH that records its calls (the real commands have their own tests)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.build_backend import REPO
from tests.deskbot_process import free_port

ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"
HEALTHCHECK = REPO / "deploy" / "healthcheck.py"


def stand_in_deskbot(folder: Path, fail_on: str | None = None) -> Path:
    """A `deskbot` that appends its arguments to calls.log, and fails (exit 3) when they contain `fail_on`."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "deskbot"
    failing = f'case "$*" in *"{fail_on}"*) echo "error: {fail_on} failed" >&2; exit 3;; esac\n' if fail_on else ""
    record = 'echo "$* | path=${DESKBOT_KNOWLEDGE__PATH:-} index=${DESKBOT_KNOWLEDGE__INDEX_DIR:-}"'
    script.write_text(f'#!/bin/sh\n{record} >> "{folder}/calls.log"\n{failing}')
    script.chmod(0o755)
    return folder


def run_entrypoint(tmp_path: Path, *args: str, fail_on: str | None = None, **env: str) -> tuple[int, list[str]]:
    bin_dir = stand_in_deskbot(tmp_path / "bin", fail_on)
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "CONFIG_FILE": str(tmp_path / "etc" / "deskbot.toml"),
        "KNOWLEDGE_MOUNT": str(tmp_path / "knowledge"),
        **env,
    }
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, timeout=30, check=False
    )
    log = bin_dir / "calls.log"
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_serve_upgrades_the_store_syncs_the_knowledge_then_serves(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "faq.md").write_text("# FAQ\n")
    code, calls = run_entrypoint(tmp_path)
    knowledge = tmp_path / "knowledge"
    assert code == 0
    context = f"path={knowledge} index=/data/index"
    assert calls == [f"db upgrade | {context}", f"ingest {knowledge} --prune | {context}", f"serve | {context}"]


def test_a_mounted_config_file_is_passed_to_every_command(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "deskbot.toml"
    config.write_text("[bot]\nname = 'Nimbus'\n")
    code, calls = run_entrypoint(tmp_path, "serve", "--workers", "2")
    assert code == 0
    assert [call.split(" | ")[0] for call in calls] == [
        f"--config {config} db upgrade",
        f"--config {config} serve --workers 2",
    ]


def test_with_nothing_mounted_the_sample_answers(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path, DESKBOT_DATA_DIR="/data")
    assert code == 0 and calls == ["db upgrade | path= index=", "serve | path= index="]


def test_an_index_dir_that_is_set_is_kept(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "faq.md").write_text("# FAQ\n")
    code, calls = run_entrypoint(tmp_path, "serve", DESKBOT_KNOWLEDGE__INDEX_DIR="/shared/kb")
    assert code == 0 and calls[-1].endswith("index=/shared/kb")


def test_an_explicit_knowledge_path_wins_over_the_mount(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "faq.md").write_text("# FAQ\n")
    code, calls = run_entrypoint(tmp_path, DESKBOT_KNOWLEDGE__PATH="/srv/help", DESKBOT_DATA_DIR="/var/deskbot")
    assert code == 0 and calls[1] == "ingest /srv/help --prune | path=/srv/help index=/var/deskbot/index"


def test_other_commands_run_without_the_start_steps(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path, "ask", "How long do refunds take?")
    assert code == 0 and calls == ["ask How long do refunds take? | path= index="]


def test_prepare_runs_only_the_start_steps(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "faq.md").write_text("# FAQ\n")
    code, calls = run_entrypoint(tmp_path, "prepare")
    knowledge = tmp_path / "knowledge"
    assert code == 0
    assert [call.split(" | ")[0] for call in calls] == ["db upgrade", f"ingest {knowledge} --prune"]


def test_a_worker_runs_without_the_start_steps(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "faq.md").write_text("# FAQ\n")
    code, calls = run_entrypoint(tmp_path, "worker", "--processes", "2")
    assert code == 0 and calls == [f"worker --processes 2 | path={tmp_path / 'knowledge'} index=/data/index"]


def test_a_failed_migration_stops_the_container_before_serving(tmp_path: Path) -> None:
    code, calls = run_entrypoint(tmp_path, fail_on="db upgrade")
    assert code == 3 and calls == ["db upgrade | path= index="]


class _Readyz(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readyz_server() -> Iterator[tuple[int, type[_Readyz]]]:
    handler = type("Handler", (_Readyz,), {})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def healthcheck(port: int) -> int:
    env = {**os.environ, "DESKBOT_SERVER__PORT": str(port)}
    command = [sys.executable, str(HEALTHCHECK)]
    return subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode


def test_the_healthcheck_follows_readyz(readyz_server: tuple[int, type[_Readyz]]) -> None:
    port, handler = readyz_server
    assert healthcheck(port) == 0
    handler.status = 503
    assert healthcheck(port) == 1


def test_the_healthcheck_fails_when_nothing_listens() -> None:
    assert healthcheck(free_port()) == 1


def worker_healthcheck(tmp_path: Path, fail_on: str | None = None, config: bool = False) -> tuple[int, list[str]]:
    bin_dir = stand_in_deskbot(tmp_path / "bin", fail_on)
    config_file = tmp_path / "deskbot.toml"
    if config:
        config_file.write_text("[bot]\nname = 'Nimbus'\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CONFIG_FILE": str(config_file)}
    command = [sys.executable, str(HEALTHCHECK), "worker"]
    code = subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode
    return code, [call.split(" | ")[0] for call in (bin_dir / "calls.log").read_text().splitlines()]


def test_the_worker_healthcheck_is_deskbot_worker_check(tmp_path: Path) -> None:
    assert worker_healthcheck(tmp_path / "ok") == (0, ["worker --check"])
    assert worker_healthcheck(tmp_path / "down", fail_on="--check") == (1, ["worker --check"])
    config = tmp_path / "config" / "deskbot.toml"
    assert worker_healthcheck(tmp_path / "config", config=True) == (0, [f"--config {config} worker --check"])
