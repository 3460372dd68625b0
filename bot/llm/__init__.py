"""LLM backends behind one protocol: full reply and token stream, with timeouts and cancellation."""

from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.fake import FakeLLM

__all__ = ["FakeLLM", "GenerationOptions", "LLMBackend", "complete"]
