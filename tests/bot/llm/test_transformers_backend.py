"""The transformers backend: the embedded default model (SmolLM2, a GGUF the install carries) on this machine's CPU
(slow), and a tiny Llama built in the test for how generations share the one model thread."""

import asyncio
import math
import threading
import time

import pytest

from bot.config import LLMSettings
from bot.errors import LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.transformers_backend import TransformersLLM
from bot.types import ChatMessage


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    backend = TransformersLLM(LLMSettings(), cache_dir=tmp_path_factory.mktemp("models"))
    backend.load()
    return backend


@pytest.mark.slow
def test_streams_counts_real_tokens_and_scores_text(llm):
    assert isinstance(llm, LLMBackend)
    assert llm.count_tokens("Hello world") < llm.count_tokens("Hello world, how are you today?")
    messages = [ChatMessage("user", "Say hello.")]
    assert llm.prompt_tokens(messages) > llm.count_tokens("Say hello.")
    import asyncio

    text = asyncio.run(complete(llm, messages, GenerationOptions(max_new_tokens=8)))
    assert text.strip()
    assert math.isfinite(llm.perplexity(["The warranty lasts two years from the date of delivery."]))


@pytest.mark.slow
async def test_timeout_is_an_llm_timeout(llm):
    with pytest.raises(LLMTimeoutError):
        await complete(
            llm, [ChatMessage("user", "Count to one hundred.")], GenerationOptions(max_new_tokens=500, timeout_s=0.3)
        )


async def test_a_generation_abandoned_while_it_waited_for_the_model_thread_never_starts(tiny_llm_settings, monkeypatch):
    llm = TransformersLLM(tiny_llm_settings)
    llm.load()
    generations = []
    generate = llm._model.generate
    monkeypatch.setattr(llm._model, "generate", lambda **kwargs: generations.append(kwargs) or generate(**kwargs))
    other_generation_done = threading.Event()
    encode_chat = llm.encode_chat

    def another_generation_takes_the_thread_first(messages):
        llm._executor.submit(other_generation_done.wait, 10)
        return encode_chat(messages)

    monkeypatch.setattr(llm, "encode_chat", another_generation_takes_the_thread_first)
    messages = [ChatMessage("user", "How long is the warranty?")]
    with pytest.raises(LLMTimeoutError):
        await complete(llm, messages, GenerationOptions(max_new_tokens=8, timeout_s=0.2))
    other_generation_done.set()
    await asyncio.get_running_loop().run_in_executor(llm._executor, lambda: None)  # the abandoned one had its turn
    assert generations == [], "its prefill ran although nobody was waiting for it any more"

    monkeypatch.setattr(llm, "encode_chat", encode_chat)
    await complete(llm, messages, GenerationOptions(max_new_tokens=4, timeout_s=30))
    assert len(generations) == 1


async def test_the_timeout_counts_the_wait_behind_another_generation(tiny_llm_settings):
    llm = TransformersLLM(tiny_llm_settings)
    llm.load()
    other_generation_done = threading.Event()
    llm._executor.submit(other_generation_done.wait, 10)  # the model thread is busy with someone else's answer
    started = time.perf_counter()
    try:
        with pytest.raises(LLMTimeoutError):
            await complete(llm, [ChatMessage("user", "Hi")], GenerationOptions(max_new_tokens=4, timeout_s=0.3))
        assert time.perf_counter() - started < 3, "the deadline started only once the model thread was free"
    finally:
        other_generation_done.set()


async def test_generation_uses_llm_threads_cpu_threads_on_the_model_thread_only(tiny_llm_settings):
    import torch

    before = torch.get_num_threads()
    llm = TransformersLLM(tiny_llm_settings.model_copy(update={"threads": 1}))
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(llm._executor, torch.get_num_threads) == 1
    assert torch.get_num_threads() == before, "the embedder and the rest of the process keep their threads"
    await complete(llm, [ChatMessage("user", "Hi")], GenerationOptions(max_new_tokens=4, timeout_s=30))


@pytest.mark.parametrize("kv_cache", ["static", "dynamic"])
async def test_both_kv_caches_generate_the_same_greedy_reply(tiny_llm_settings, kv_cache):
    reference = TransformersLLM(tiny_llm_settings.model_copy(update={"kv_cache": "dynamic"}))
    llm = TransformersLLM(tiny_llm_settings.model_copy(update={"kv_cache": kv_cache}))
    messages = [ChatMessage("user", "How long is the warranty?")]
    options = GenerationOptions(max_new_tokens=12, timeout_s=30)
    assert await complete(llm, messages, options) == await complete(reference, messages, options)
