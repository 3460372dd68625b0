"""Every `LLMBackend` implementation streams text, counts tokens, honours max_new_tokens and times out cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import LLMSettings
from bot.errors import LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.fake import FakeLLM
from bot.llm.sentence_stop import end_of_sentences
from bot.types import ChatMessage

QUESTION = [
    ChatMessage("system", "Answer from the passage only."),
    ChatMessage(
        "user",
        '<passage number="1" title="Warranty">\nThe warranty lasts 2 years.\n</passage>\n\nHow long is the warranty?',
    ),
]


def fake_backend(_models: Path) -> LLMBackend:
    return FakeLLM()


def transformers_backend(_models: Path) -> LLMBackend:
    from bot.llm.transformers_backend import TransformersLLM

    return TransformersLLM(LLMSettings(), cache_dir=None)


def llamacpp_backend(models: Path) -> LLMBackend:
    from bot.llm.llamacpp_backend import LlamaCppLLM

    pytest.importorskip("xllamacpp")
    return LlamaCppLLM(LLMSettings(backend="llamacpp"), cache_dir=models)  # its Q8_0 copy of SmolLM2 goes there


BACKENDS = [
    pytest.param(fake_backend, id="fake"),
    pytest.param(transformers_backend, id="transformers", marks=pytest.mark.slow),
    pytest.param(llamacpp_backend, id="llamacpp", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LLMBackend:
    factory: Callable[[Path], LLMBackend] = request.param
    return factory(tmp_path_factory.mktemp("models"))


async def test_streams_nonempty_text(backend: LLMBackend) -> None:
    pieces = [piece async for piece in backend.stream(QUESTION, GenerationOptions(max_new_tokens=24))]
    assert pieces and "".join(pieces).strip()


async def test_complete_joins_the_stream(backend: LLMBackend) -> None:
    text = await complete(backend, QUESTION, GenerationOptions(max_new_tokens=24))
    assert "2" in text or "two" in text.lower()


async def test_counts_tokens(backend: LLMBackend) -> None:
    backend.load()
    assert 0 < backend.count_tokens("How long is the warranty?") < 20


async def test_max_new_tokens_bounds_the_reply(backend: LLMBackend) -> None:
    backend.load()
    text = await complete(backend, QUESTION, GenerationOptions(max_new_tokens=3))
    assert backend.count_tokens(text) <= 4


async def test_timeout_raises_llm_timeout(backend: LLMBackend) -> None:
    if isinstance(backend, FakeLLM):
        backend.first_token_delay_s = 1.0
    try:
        with pytest.raises(LLMTimeoutError):
            await complete(backend, QUESTION, GenerationOptions(max_new_tokens=400, timeout_s=0.001))
    finally:
        if isinstance(backend, FakeLLM):
            backend.first_token_delay_s = 0.0


async def test_max_sentences_ends_the_reply_at_a_sentence_boundary(backend: LLMBackend) -> None:
    backend.load()
    text = await complete(backend, QUESTION, GenerationOptions(max_new_tokens=60, max_sentences=1))
    assert text.strip() and end_of_sentences(text, 1) is None, f"more than one sentence: {text!r}"
