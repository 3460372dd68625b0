"""The `LLMBackend` protocol shared by local (transformers) and remote backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.types import ChatMessage


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 160
    temperature: float = 0.0
    timeout_s: float = 120.0
    stop: tuple[str, ...] = ()
    max_sentences: int | None = None  # end the reply after this many complete sentences (bot.llm.sentence_stop)

    def __post_init__(self) -> None:
        if self.max_sentences is not None and self.max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1 (or None for no limit), not {self.max_sentences}")


@runtime_checkable
class LLMBackend(Protocol):
    @property
    def name(self) -> str: ...

    def load(self) -> None:
        """Load weights or open connections; blocking, so call it through `asyncio.to_thread`."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` costs in this model's context window."""
        ...

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        """Yield text pieces as they are generated, up to `options.max_new_tokens` tokens and `options.max_sentences`
        sentences. Raises `LLMError`/`LLMTimeoutError`; closing it cancels."""
        ...


async def complete(llm: LLMBackend, messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
    """The whole reply of `llm`, gathered from its stream."""
    return "".join([piece async for piece in llm.stream(messages, options)])
