import socket
import time

import pytest
from pydantic import SecretStr

from bot.config import LLMSettings, load_settings
from bot.errors import LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.openai_backend import OpenAILLM, retry_after_s
from bot.plugins import PluginRegistry, build_plugin
from bot.types import ChatMessage
from tests.bot.llm.openai_server import chat_server

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "How long do I have to return an item?")]
EXPECTED = "You have 30 days to return an item. [1]"


@pytest.fixture
def server():
    with chat_server() as running:
        yield running


def backend(url: str, **extra) -> OpenAILLM:
    settings = LLMSettings(backend="openai", model="gpt-4o-mini", base_url=url, api_key=SecretStr("sk-test"))
    return OpenAILLM(settings, backoff_s=0.05, **extra)


async def test_streams_sse_chunks_and_sends_the_documented_request(server):
    llm = backend(server.url)
    assert isinstance(llm, LLMBackend)
    pieces = [p async for p in llm.stream(MESSAGES, GenerationOptions(max_new_tokens=50, stop=("\n\n",)))]
    assert "".join(pieces) == EXPECTED and len(pieces) == 3
    (request,) = server.requests
    assert request["model"] == "gpt-4o-mini" and request["stream"] is True
    assert request["messages"] == [{"role": m.role, "content": m.content} for m in MESSAGES]
    assert request["max_tokens"] == 50 and request["stop"] == ["\n\n"]
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


async def test_non_streamed_json_reply_is_understood(server):
    server.script.append("json")
    assert await complete(backend(server.url), MESSAGES, GenerationOptions()) == EXPECTED


async def test_stream_false_asks_for_one_json_reply(server):
    server.script.append("json")
    llm = OpenAILLM(
        LLMSettings(backend="openai", model="gpt-4o-mini", base_url=server.url, stream=False), backoff_s=0.05
    )
    assert await complete(llm, MESSAGES, GenerationOptions()) == EXPECTED
    assert server.requests[0]["stream"] is False
    assert server.headers[0]["Accept"] == "application/json"


async def test_retries_429_honouring_retry_after_then_503_with_backoff(server):
    server.script.extend(["429", "503"])
    server.retry_after = "0.3"
    started = time.monotonic()
    assert await complete(backend(server.url), MESSAGES, GenerationOptions(timeout_s=10)) == EXPECTED
    assert len(server.requests) == 3
    assert server.request_times[1] - server.request_times[0] >= 0.3
    assert time.monotonic() - started < 5


async def test_gives_up_after_max_retries(server):
    server.script.extend(["503"] * 5)
    with pytest.raises(LLMError, match="HTTP 503"):
        await complete(backend(server.url, max_retries=2), MESSAGES, GenerationOptions(timeout_s=10))
    assert len(server.requests) == 3


async def test_retry_after_past_the_deadline_is_a_timeout(server):
    server.script.append("429")
    server.retry_after = "30"
    with pytest.raises(LLMTimeoutError):
        await complete(backend(server.url), MESSAGES, GenerationOptions(timeout_s=2))
    assert len(server.requests) == 1


async def test_bad_api_key_is_not_retried_and_message_is_one_line(server):
    server.script.append("401")
    with pytest.raises(LLMError) as raised:
        await complete(backend(server.url), MESSAGES, GenerationOptions())
    assert "401" in str(raised.value) and "\n" not in str(raised.value)
    assert len(server.requests) == 1


async def test_timeout_when_the_server_hangs(server):
    server.script.append("hang")
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError):
        await complete(backend(server.url), MESSAGES, GenerationOptions(timeout_s=0.5))
    assert time.monotonic() - started < 2


async def test_connection_refused_is_an_llm_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(LLMError, match="connection failed"):
        await complete(backend(f"http://127.0.0.1:{port}/v1", max_retries=1), MESSAGES, GenerationOptions(timeout_s=5))


async def test_closing_the_stream_cancels_the_request(server):
    server.script.append("slow")
    stream = backend(server.url).stream(MESSAGES, GenerationOptions())
    first = await anext(stream)
    await stream.aclose()
    assert first == "You have"
    assert server.disconnected.wait(3)


async def test_max_sentences_ends_the_reply_and_closes_the_connection(server):
    server.script.append("long")
    text = await complete(backend(server.url), MESSAGES, GenerationOptions(max_sentences=2))
    assert text == "You have 30 days to return an item. [1] Keep the receipt."
    assert server.disconnected.wait(3), "the server went on streaming a reply nobody reads"


async def test_connection_dropped_mid_stream_is_not_retried(server):
    server.script.append("drop")
    with pytest.raises(LLMError):
        await complete(backend(server.url), MESSAGES, GenerationOptions(timeout_s=5))
    assert len(server.requests) == 1


def test_retry_after_header_forms():
    assert retry_after_s("2") == 2.0
    assert retry_after_s(None) is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_selected_by_environment(monkeypatch):
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "openai")
    monkeypatch.setenv("DESKBOT_LLM__MODEL", "llama3")
    monkeypatch.setenv("DESKBOT_LLM__BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("DESKBOT_LLM__API_KEY", "sk-env")
    settings = load_settings()
    llm = build_plugin(PluginRegistry().load("llm", settings.llm.backend), settings)
    assert isinstance(llm, OpenAILLM) and llm.name == "llama3"
    assert llm.base_url == "http://127.0.0.1:11434/v1"
    assert "sk-env" not in repr(settings.llm)
