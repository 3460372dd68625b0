"""The `openai` backend against a real OpenAI-compatible server: `transformers serve` on this machine's CPU, serving
the embedded SmolLM2 (de-quantised once into a temporary folder) with no network.

One server for the module (one model load), plus one restart: a reply in one JSON object and a streamed one, a server
too slow for the caller's timeout, a server killed mid-stream (a clear error, promptly, and no hang), unreachable
while it restarts (retried, then a clear error) and answering again once it is back.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.config import LLMSettings
from bot.errors import LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions, complete
from bot.llm.openai_backend import OpenAILLM
from bot.llm.transformers_backend import SMOLLM2_GGUF, embedded_model_folder
from bot.types import ChatMessage
from tests.deskbot_process import free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]

TRANSFORMERS_CLI = Path(sys.executable).parent / "transformers"
QUESTION = [
    ChatMessage("system", "Answer in one short sentence."),
    ChatMessage("user", "What is the capital of France?"),
]
START_TIMEOUT_S = 240.0


def dequantised_smollm2(folder: Path) -> Path:
    """The embedded GGUF as a plain transformers folder (bfloat16 safetensors, config, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source = str(embedded_model_folder())
    model = AutoModelForCausalLM.from_pretrained(
        source, gguf_file=SMOLLM2_GGUF, quantization_config=GgufConfig(dequantize=True)
    )
    model.to(torch.bfloat16).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF).save_pretrained(folder)
    return folder


@dataclass
class ModelServer:
    model_dir: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        command = [str(TRANSFORMERS_CLI), "serve", str(self.model_dir), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--device", "cpu", "--log-level", "warning"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"transformers serve exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        pytest.fail(f"transformers serve did not start in {START_TIMEOUT_S:g}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no graceful end of the open streams."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    if not TRANSFORMERS_CLI.exists():
        pytest.fail("`transformers serve` is missing: install the dev extra (transformers[serving])")
    model_dir = dequantised_smollm2(tmp_path_factory.mktemp("smollm2"))
    server = ModelServer(model_dir, free_port(), tmp_path_factory.mktemp("logs") / "serve.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(model_dir, ignore_errors=True)


def backend(server: ModelServer, *, stream: bool = True, max_retries: int = 4) -> OpenAILLM:
    settings = LLMSettings(backend="openai", model=str(server.model_dir), base_url=server.base_url, stream=stream)
    return OpenAILLM(settings, max_retries=max_retries, backoff_s=0.2)


async def test_a_reply_in_one_json_object(model_server: ModelServer) -> None:
    reply = await complete(backend(model_server, stream=False), QUESTION, GenerationOptions(max_new_tokens=16))
    assert "Paris" in reply


async def test_a_streamed_reply_arrives_in_pieces(model_server: ModelServer) -> None:
    llm = backend(model_server)
    arrivals: list[tuple[float, str]] = []
    async for piece in llm.stream(QUESTION, GenerationOptions(max_new_tokens=16)):
        arrivals.append((time.monotonic(), piece))
    text = "".join(piece for _, piece in arrivals)
    assert "Paris" in text and len(arrivals) >= 3, arrivals
    assert arrivals[-1][0] > arrivals[0][0], "pieces arrive as they are generated, not all at the end"


async def test_the_sentence_stop_closes_the_stream_and_the_server_goes_on(model_server: ModelServer) -> None:
    llm = backend(model_server)
    options = GenerationOptions(max_new_tokens=200, max_sentences=1)
    started = time.monotonic()
    reply = await complete(llm, [ChatMessage("user", "Tell me about Paris in five sentences.")], options)
    assert reply.strip() and reply.rstrip()[-1] in ".!?", reply
    assert time.monotonic() - started < 60
    assert "Paris" in await complete(llm, QUESTION, GenerationOptions(max_new_tokens=16))


async def test_a_server_slower_than_the_timeout_is_a_timeout_not_a_hang(model_server: ModelServer) -> None:
    llm = backend(model_server)
    long_reply = [ChatMessage("user", "Write a long story about a lighthouse keeper.")]
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError, match=r"longer than 1\.5s"):
        await complete(llm, long_reply, GenerationOptions(max_new_tokens=400, timeout_s=1.5))
    assert time.monotonic() - started < 5
    assert "Paris" in await complete(llm, QUESTION, GenerationOptions(max_new_tokens=16)), "the server goes on"


async def test_a_server_that_restarts_mid_stream(model_server: ModelServer) -> None:
    llm = backend(model_server, max_retries=2)
    long_reply = [ChatMessage("user", "Write a long story about a lighthouse keeper.")]
    stream = llm.stream(long_reply, GenerationOptions(max_new_tokens=400, timeout_s=120))
    first = await anext(stream)
    assert first
    model_server.kill()
    started = time.monotonic()
    with pytest.raises(LLMError) as cut:
        async for _piece in stream:
            pass
    assert time.monotonic() - started < 10, "a dead server is noticed at once, not at the 120 s timeout"
    assert model_server.base_url in str(cut.value)

    started = time.monotonic()
    with pytest.raises(LLMError, match="connection failed"):
        await complete(llm, QUESTION, GenerationOptions(max_new_tokens=16))
    assert time.monotonic() - started < 10, "retried a bounded number of times (0.2 s, then 0.4 s)"

    model_server.start()
    assert "Paris" in await asyncio.wait_for(complete(llm, QUESTION, GenerationOptions(max_new_tokens=16)), 60)
