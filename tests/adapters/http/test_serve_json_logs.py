"""`deskbot serve` with `[logging] format = "json"`: every line of every process (HTTP workers, answer processes,
uvicorn) is one JSON object, with the request id, conversation id, channel and latency where they belong."""

import asyncio
import json
import re
import subprocess
import time

import httpx
import pytest

from tests.adapters.http.conftest import fixture, json_body, slack_headers
from tests.adapters.http.test_serve_cli import DESKBOT, deskbot_env, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RESOURCE_TRACKER = re.compile(r"resource_tracker")

__all__ = ["deskbot_env"]  # the fixture, imported for this module's tests


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        await asyncio.sleep(0.2)


async def test_every_line_is_json_with_its_context(deskbot_env, tmp_path, fake_slack):
    deskbot_env.update(
        {
            "DESKBOT_LOGGING__FORMAT": "json",
            "DESKBOT_LOGGING__LEVEL": "INFO",
            "DESKBOT_SERVER__ANSWER_PROCESSES": "1",
        }
    )
    created = subprocess.run(
        [DESKBOT, "keys", "create", "ci"], env=deskbot_env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    key = created.stdout.strip()
    port = free_port()
    server = subprocess.Popen(
        [DESKBOT, "serve", "--port", str(port), "--workers", "2"],
        env=deskbot_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await wait_ready(client)
            chat = await client.post(
                "/v1/chat",
                json={"message": "How do I reset my Nimbus Thermo?", "conversation_id": "c-json"},
                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "req-json-1"},
            )
            assert chat.status_code == 200 and chat.headers["x-request-id"] == "req-json-1"
            body = json_body(fixture("slack_app_mention.json"))
            event = await client.post(
                "/slack/events", content=body, headers={"Content-Type": "application/json", **slack_headers(body)}
            )
            assert event.status_code == 200
            await fake_slack.wait_for_calls(1, timeout_s=20)
            metrics = (await client.get("/metrics")).text
            assert "deskbot_replies_total" in metrics
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=30)

    records, others = [], []
    for line in filter(str.strip, errors.splitlines()):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            others.append(line)
    # multiprocessing's resource tracker is a process of Python's own (no Deskbot code, no logging set up) that may
    # warn about a semaphore at shutdown in plain text; nothing else may be outside the format.
    others = [line for line in others if not RESOURCE_TRACKER.search(line)]
    assert not others, "\n".join(others)
    assert any(r["logger"].startswith("uvicorn") for r in records), "uvicorn's lines are in the JSON format too"
    [request] = [r for r in records if r["logger"] == "deskbot.requests" and r["message"] == "POST /v1/chat 200"]
    assert request["request_id"] == "req-json-1" and request["latency_ms"] > 0
    # the log is the operator's: it names the stored conversation, inside the key's namespace
    [api_turn] = [r for r in records if r["message"] == "answered" and r["channel"] == "api"]
    assert api_turn["conversation_id"] == "api:ci:c-json" and api_turn["request_id"] == "req-json-1"
    assert api_turn["latency_ms"] > 0
    slack_turns = [r for r in records if r["message"] == "answered" and r["channel"] == "slack"]
    assert slack_turns and all(r.get("role") == "answers" for r in slack_turns), slack_turns
    assert all(r["conversation_id"] for r in slack_turns)
