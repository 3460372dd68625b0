"""`FakeLLM`: a scripted backend for tests and demos; it behaves like a real one (streaming, delays, failures)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

from bot.errors import LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions
from bot.llm.sentence_stop import stop_after_sentences
from bot.types import ChatMessage

Script = Callable[[Sequence[ChatMessage]], str]


def echo_context(messages: Sequence[ChatMessage]) -> str:
    """Answer with the first sentence of the first `<passage number="N">` in the prompt, citing it."""
    prompt = messages[-1].content
    match = re.search(r'<passage number="(\d+)"[^>]*>\s*(.+?)(?:[.!?](?:\s|$)|</passage>)', prompt, re.DOTALL)
    if match is None:
        return "I don't know."
    return f"{match.group(2).strip()}. [{match.group(1)}]"


class FakeLLM:
    def __init__(
        self,
        script: Script | str | None = None,
        delay_s: float = 0.0,
        first_token_delay_s: float = 0.0,
        fail_with: Exception | None = None,
    ) -> None:
        self._script: Script = (lambda _m: script) if isinstance(script, str) else (script or echo_context)
        self.delay_s = delay_s
        self.first_token_delay_s = first_token_delay_s
        self.fail_with = fail_with
        self.calls: list[list[ChatMessage]] = []

    @classmethod
    def build(cls, *_args: Any) -> FakeLLM:
        return cls()

    @property
    def name(self) -> str:
        return "fake"

    def load(self) -> None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        return stop_after_sentences(self._generate(messages, options), options.max_sentences)

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        self.calls.append(list(messages))
        if self.fail_with is not None:
            raise self.fail_with
        text = self._script(messages)
        words = text.split(" ")
        try:
            async with asyncio.timeout(options.timeout_s):
                await asyncio.sleep(self.first_token_delay_s)
                for index, word in enumerate(words[: options.max_new_tokens]):
                    if index:
                        await asyncio.sleep(self.delay_s)
                    yield word if index == 0 else " " + word
        except TimeoutError as error:
            raise LLMTimeoutError(f"fake LLM took longer than {options.timeout_s:g}s") from error


__all__ = ["FakeLLM", "LLMError", "echo_context"]
