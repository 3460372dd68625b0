import asyncio
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from bot.config import load_settings
from bot.errors import ConfigError, LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.langchain_backend import LangChainLLM
from bot.plugins import PluginRegistry, build_plugin
from bot.types import ChatMessage

MESSAGES = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "Hello"),
    ChatMessage("user", "How long is the warranty?"),
]


def fake_model() -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content="Two years from delivery. [1]")]))


async def test_streams_a_langchain_chat_model():
    llm = LangChainLLM(fake_model())
    assert isinstance(llm, LLMBackend)
    pieces = [p async for p in llm.stream(MESSAGES, GenerationOptions())]
    assert len(pieces) > 1 and "".join(pieces) == "Two years from delivery. [1]"


async def test_max_sentences_ends_the_reply_and_closes_the_model_stream():
    closed = []

    class Talkative(GenericFakeChatModel):
        async def _astream(self, *args: Any, **kwargs: Any):  # type: ignore[override]
            try:
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk
            finally:
                closed.append(True)

    model = Talkative(messages=iter([AIMessage(content="Two years from delivery. [1] Keep the receipt. Call us.")]))
    text = await complete(LangChainLLM(model), MESSAGES, GenerationOptions(max_sentences=1))
    assert text == "Two years from delivery. [1]"
    assert closed == [True]


async def test_timeout_and_failure_become_llm_errors():
    class Slow(GenericFakeChatModel):
        async def _astream(self, *args: Any, **kwargs: Any):  # type: ignore[override]
            await asyncio.sleep(5)
            yield None

    with pytest.raises(LLMTimeoutError):
        await complete(LangChainLLM(Slow(messages=iter([]))), MESSAGES, GenerationOptions(timeout_s=0.2))
    empty = GenericFakeChatModel(messages=iter([]))
    with pytest.raises(LLMError):
        await complete(LangChainLLM(empty), MESSAGES, GenerationOptions())


def test_selected_by_config(monkeypatch):
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "langchain")
    monkeypatch.setenv("DESKBOT_LLM__MODEL", "tests.bot.llm.test_langchain_backend:fake_model")
    settings = load_settings()
    llm = build_plugin(PluginRegistry().load("llm", "langchain"), settings)
    assert isinstance(llm, LangChainLLM)
    settings.llm.model = "no-colon"
    with pytest.raises(ConfigError):
        LangChainLLM.build(settings)
