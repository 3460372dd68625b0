"""`deskbot keys create` + `deskbot serve` as a user runs them: a real uvicorn process on loopback."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.adapters.http.conftest import SIGNING_SECRET, fixture, json_body, slack_headers

pytestmark = pytest.mark.integration

DESKBOT = str(Path(sys.executable).parent / "deskbot")


def deskbot(*args: str, env, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKBOT, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def deskbot_env(tmp_path, fake_slack):
    return {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
        "DESKBOT_LLM__BACKEND": "fake",
        "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
        "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
        "DESKBOT_ANSWER__MIN_SCORE": "0.1",
        "DESKBOT_SLACK__SIGNING_SECRET": SIGNING_SECRET,
        "DESKBOT_SLACK__BOT_TOKEN": "xoxb-cli-test",
        "DESKBOT_SLACK__API_URL": fake_slack.api_url,
    }


@pytest.mark.parametrize(("workers", "answer_processes"), [(1, 0), (2, 1)])
async def test_keys_and_serve_end_to_end(deskbot_env, tmp_path, fake_slack, workers, answer_processes):
    deskbot_env["DESKBOT_SERVER__ANSWER_PROCESSES"] = str(answer_processes)
    created = subprocess.run(
        [DESKBOT, "keys", "create", "ci"], env=deskbot_env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    key = created.stdout.strip()
    assert key.startswith("dsk_") and "shown only now" in created.stderr
    listed = deskbot("keys", "list", env=deskbot_env, cwd=tmp_path)
    assert "ci" in listed.stdout and key not in listed.stdout

    port = free_port()
    server = subprocess.Popen(
        [DESKBOT, "serve", "--port", str(port), "--workers", str(workers)],
        env=deskbot_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not become ready"
                await asyncio.sleep(0.2)
            chat = await client.post(
                "/v1/chat",
                json={"message": "How do I reset my Nimbus Thermo?"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert chat.status_code == 200 and chat.json()["answer"]
            body = json_body(fixture("slack_app_mention.json"))
            event = await client.post(
                "/slack/events", content=body, headers={"Content-Type": "application/json", **slack_headers(body)}
            )
            assert event.status_code == 200
            for retry in range(1, 4):  # Slack's retries, landing on any worker: answered once in all
                headers = {"Content-Type": "application/json", "X-Slack-Retry-Num": str(retry), **slack_headers(body)}
                assert (await client.post("/slack/events", content=body, headers=headers)).status_code == 200
            [call] = await fake_slack.wait_for_calls(1, timeout_s=20)
            assert call.method == "chat.postMessage"
            await asyncio.sleep(1.0)
            assert len(fake_slack.calls) == 1
            # Counted by whichever process answered, reported by whichever one serves /metrics.
            metrics = (await client.get("/metrics")).text
            assert 'deskbot_replies_total{channel="slack"' in metrics, metrics
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=30)
    assert "xoxb-cli-test" not in errors and SIGNING_SECRET not in errors and key not in errors


def test_serve_rejects_a_bad_port(deskbot_env, tmp_path):
    result = deskbot("serve", "--port", "70000", env=deskbot_env, cwd=tmp_path)
    assert result.returncode != 0 and "not a port number" in result.stderr


def test_discord_without_token_is_one_clear_line(deskbot_env, tmp_path):
    result = deskbot("discord", env=deskbot_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "DESKBOT_DISCORD__TOKEN" in result.stderr and "Traceback" not in result.stderr
