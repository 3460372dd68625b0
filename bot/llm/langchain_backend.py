"""`LangChainLLM`: any LangChain chat model (`BaseChatModel`) as a Deskbot LLM backend.

In code: `LangChainLLM(ChatOllama(model="llama3"))`, registered with `registry.register("llm", "langchain", ...)`.
From config: `DESKBOT_LLM__BACKEND=langchain` and `DESKBOT_LLM__MODEL=package.module:factory`, where `factory` is a
chat model instance or a callable returning one (called with no arguments). Tokens stream through `astream`, which is
closed once the reply holds `max_sentences` sentences (`bot.llm.sentence_stop`).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

from bot.config import Settings
from bot.errors import ConfigError, LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions
from bot.llm.sentence_stop import stop_after_sentences
from bot.types import ChatMessage

CHARS_PER_TOKEN = 4


def load_chat_model(reference: str) -> Any:
    """The chat model named by `package.module:attribute` (an instance, or a factory called without arguments)."""
    from langchain_core.language_models import BaseChatModel

    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"llm.model '{reference}': expected 'package.module:chat_model' for the langchain backend")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"llm.model '{reference}': cannot import it ({error})") from error
    model = target if isinstance(target, BaseChatModel) else target()
    if not isinstance(model, BaseChatModel):
        raise ConfigError(f"llm.model '{reference}': not a LangChain BaseChatModel")
    return model


def to_langchain(messages: Sequence[ChatMessage]) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


class LangChainLLM:
    def __init__(self, chat_model: Any, name: str | None = None) -> None:
        self.chat_model = chat_model
        self._name = name or type(chat_model).__name__

    @classmethod
    def build(cls, settings: Settings) -> LangChainLLM:
        return cls(load_chat_model(settings.llm.model), settings.llm.model)

    @property
    def name(self) -> str:
        return self._name

    def load(self) -> None:
        """The chat model is ready when constructed."""

    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token); LangChain's own count may download a tokenizer."""
        return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN) if text else 0

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        return stop_after_sentences(self._generate(messages, options), options.max_sentences)

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        kwargs: dict[str, Any] = {"stop": list(options.stop)} if options.stop else {}
        try:
            async with asyncio.timeout(options.timeout_s):
                async with aclosing(self.chat_model.astream(to_langchain(messages), **kwargs)) as chunks:
                    async for chunk in chunks:
                        text = chunk.content if isinstance(chunk.content, str) else ""
                        if text:
                            yield text
        except TimeoutError as error:
            raise LLMTimeoutError(f"chat model '{self.name}' took longer than {options.timeout_s:g}s") from error
        except (LLMError, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as error:  # a provider's own exception types are unknown here
            raise LLMError(f"chat model '{self.name}' failed ({error.__class__.__name__})") from error
