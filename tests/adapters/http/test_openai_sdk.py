"""The official `openai` package against a real `deskbot serve` on loopback (FakeLLM): the same answer text and sources
as `/v1/chat`, streamed and not; a conversation continued through `extra_body`; bad keys and bodies as SDK errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.deskbot_process import free_port, offline_fake_env

pytestmark = pytest.mark.integration

DESKBOT = str(Path(sys.executable).parent / "deskbot")
QUESTION = "How do I reset my Nimbus Thermo?"


@dataclass(frozen=True)
class Server:
    base_url: str
    key: str

    def sdk(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=key or self.key, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("openai-serve")
    env = offline_fake_env(folder / "cache", DESKBOT_ANSWER__MIN_SCORE="0.1")
    created = subprocess.run(
        [DESKBOT, "keys", "create", "sdk"], env=env, cwd=folder, capture_output=True, text=True, check=True
    )
    port = free_port()
    process = subprocess.Popen(
        [DESKBOT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "deskbot serve exited"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield Server(base_url, created.stdout.strip())
    finally:
        process.terminate()
        process.communicate(timeout=30)


def v1_chat(server: Server, question: str) -> dict[str, object]:
    response = httpx.post(
        f"{server.base_url}/v1/chat", json={"message": question}, headers={"Authorization": f"Bearer {server.key}"}
    )
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def sources_text(citations: list[dict[str, object]]) -> str:
    return "\n".join(f"- [{n}] {c['title']}" for n, c in enumerate(citations, start=1))


def test_the_sdk_gets_the_answer_and_sources_of_v1_chat(server):
    chat = v1_chat(server, QUESTION)
    completion = server.sdk().chat.completions.create(
        model="deskbot", messages=[{"role": "user", "content": QUESTION}], user="customer-7"
    )
    assert completion.object == "chat.completion" and completion.model == "deskbot"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    citations = completion.model_extra["citations"]
    assert citations and [c["id"] for c in citations] == [c["id"] for c in chat["citations"]]  # type: ignore[union-attr]
    assert choice.message.content == f"{chat['answer']}\n\nSources:\n{sources_text(citations)}"
    assert completion.model_extra["abstained"] is False and completion.model_extra["conversation_id"]


def test_the_sdk_streams_the_same_answer_and_sources(server):
    chat = v1_chat(server, QUESTION)
    stream = server.sdk().chat.completions.create(
        model="deskbot", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks) and len(chunks) > 3
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    citations = last.model_extra["citations"]
    assert [c["id"] for c in citations] == [c["id"] for c in chat["citations"]]  # type: ignore[union-attr]
    assert text == f"{chat['answer']}\n\nSources:\n{sources_text(citations)}"


def test_a_conversation_continues_through_extra_body(server):
    sdk = server.sdk()
    first = sdk.chat.completions.create(
        model="deskbot", messages=[{"role": "user", "content": "My Nimbus Thermo shows error E41."}]
    )
    conversation = first.model_extra["conversation_id"]
    second = sdk.chat.completions.create(
        model="deskbot",
        messages=[{"role": "user", "content": "How do I fix it?"}],
        extra_body={"conversation_id": conversation},
    )
    assert second.model_extra["conversation_id"] == conversation


def test_models_are_listed_and_an_unknown_one_is_not_found(server):
    sdk = server.sdk()
    assert [model.id for model in sdk.models.list()] == ["deskbot"]
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("gpt-4o")


def test_a_bad_key_is_an_authentication_error(server):
    with pytest.raises(openai.AuthenticationError) as refused:
        server.sdk(key="dsk_not-a-key").chat.completions.create(
            model="deskbot", messages=[{"role": "user", "content": QUESTION}]
        )
    assert refused.value.code == "invalid_api_key"


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "assistant", "content": "How can I help?"}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.example/a.png"}}]}],
    ],
)
def test_a_bad_body_is_a_bad_request_error(server, messages):
    with pytest.raises(openai.BadRequestError) as refused:
        server.sdk().chat.completions.create(model="deskbot", messages=messages)
    assert refused.value.type == "invalid_request_error"
