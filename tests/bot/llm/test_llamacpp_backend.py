"""The llamacpp backend: the embedded SmolLM2 GGUF through llama.cpp (short prompts, few tokens), its Q8_0 copy,
clear errors for missing and corrupt model files, and `backend = "auto"` falling back to transformers."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from bot.config import LLMSettings, Settings
from bot.errors import LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions, LLMBackend, complete
from bot.llm.gguf_requantize import summarize
from bot.llm.llamacpp_backend import LlamaCppLLM
from bot.llm.local import LocalLLM, local_backend_name
from bot.llm.sentence_stop import end_of_sentences
from bot.llm.transformers_backend import SMOLLM2_GGUF, TransformersLLM, embedded_model_folder
from bot.types import ChatMessage

pytest.importorskip("xllamacpp")

WARRANTY = [
    ChatMessage("system", "Answer from the passage only."),
    ChatMessage(
        "user",
        '<passage number="1" title="Warranty">\nThe warranty lasts 2 years.\n</passage>\n\nHow long is the warranty?',
    ),
]


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppLLM:
    backend = LlamaCppLLM(LLMSettings(backend="llamacpp"), cache_dir=tmp_path_factory.mktemp("models"))
    backend.load()
    return backend


@pytest.mark.slow
async def test_streams_a_grounded_reply_in_pieces(llm: LlamaCppLLM) -> None:
    assert isinstance(llm, LLMBackend)
    pieces = [piece async for piece in llm.stream(WARRANTY, GenerationOptions(max_new_tokens=16))]
    assert len(pieces) > 3, "the reply came in one piece, not as it was generated"
    assert "2" in "".join(pieces) or "two" in "".join(pieces).lower()


@pytest.mark.slow
def test_counts_tokens_in_the_models_tokenizer(llm: LlamaCppLLM) -> None:
    assert 0 < llm.count_tokens("Hello world") < llm.count_tokens("Hello world, how are you today?")
    assert llm.prompt_tokens(WARRANTY) > llm.count_tokens(WARRANTY[1].content)
    assert 100_000_000 < llm.parameter_count() < 200_000_000  # SmolLM2-135M


@pytest.mark.slow
async def test_stops_at_a_sentence_boundary(llm: LlamaCppLLM) -> None:
    question = [ChatMessage("user", "Write three short sentences about the sea.")]
    text = await complete(llm, question, GenerationOptions(max_new_tokens=60, max_sentences=1))
    assert text.strip()
    assert end_of_sentences(text, 1) is None, f"more than one sentence: {text!r}"
    assert llm.count_tokens(text) < 60


@pytest.mark.slow
async def test_a_closed_stream_frees_the_model_for_the_next_reply(llm: LlamaCppLLM) -> None:
    question = [ChatMessage("user", "Count from one to two hundred, in words.")]
    stream = llm.stream(question, GenerationOptions(max_new_tokens=400))
    first = await anext(stream)  # type: ignore[arg-type]
    assert first
    await stream.aclose()  # type: ignore[attr-defined]
    started = time.perf_counter()
    text = await complete(llm, WARRANTY, GenerationOptions(max_new_tokens=4, timeout_s=60))
    assert text.strip()
    assert time.perf_counter() - started < 30, "the abandoned generation went on to its 400 tokens first"


@pytest.mark.slow
async def test_timeout_is_an_llm_timeout(llm: LlamaCppLLM) -> None:
    with pytest.raises(LLMTimeoutError):
        await complete(
            llm, [ChatMessage("user", "Count to one hundred.")], GenerationOptions(max_new_tokens=500, timeout_s=0.3)
        )
    await asyncio.sleep(0)  # the model thread ends the cancelled generation at its next token


@pytest.mark.slow
def test_the_cached_copy_holds_q8_0_instead_of_q4_1(llm: LlamaCppLLM) -> None:
    source = embedded_model_folder() / SMOLLM2_GGUF
    copy = llm._gguf
    assert copy is not None and copy != source and copy.parent.name.endswith("-llamacpp")
    before, after = summarize(source), summarize(copy)
    assert before.slow_tensors > 0 and after.slow_tensors == 0
    assert after.parameters == before.parameters
    # later starts read neither the GGUF's tokenizer nor its tensor list again
    assert (copy.parent / "tokenizer_config.json").is_file() and (copy.parent / "summary.json").is_file()


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    llm = LlamaCppLLM(LLMSettings(backend="llamacpp", model=str(tmp_path / "absent.gguf")), cache_dir=tmp_path)
    with pytest.raises(LLMError, match=r"absent\.gguf: GGUF file not found"):
        llm.load()


@pytest.mark.parametrize("requantize", ["q8_0", "none"])
def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path, requantize: str) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 4096)
    settings = LLMSettings(backend="llamacpp", model=str(broken), requantize=requantize)  # type: ignore[arg-type]
    with pytest.raises(LLMError, match=r"broken\.gguf"):
        LlamaCppLLM(settings, cache_dir=tmp_path / "models").load()


def test_a_gguf_llama_cpp_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    unknown = tmp_path / "unknown-architecture.gguf"
    writer = gguf.GGUFWriter(unknown, arch="no-such-architecture")
    writer.add_tensor("weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    llm = LlamaCppLLM(LLMSettings(backend="llamacpp", model=str(unknown)), cache_dir=tmp_path / "models")
    with pytest.raises(LLMError, match=r"llama\.cpp could not read .*unknown-architecture\.gguf"):
        llm.load()


def test_a_model_that_is_not_a_gguf_is_refused() -> None:
    with pytest.raises(LLMError, match="runs GGUF models"):
        LlamaCppLLM(LLMSettings(backend="llamacpp", model="HuggingFaceTB/SmolLM2-135M-Instruct")).load()


def test_without_xllamacpp_loading_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import xllamacpp now raises ImportError
    with pytest.raises(LLMError, match=r"deskbot\[llamacpp\]"):
        LlamaCppLLM(LLMSettings(backend="llamacpp")).load()


def test_auto_runs_the_embedded_gguf_with_llamacpp_on_the_cpu() -> None:
    assert local_backend_name(LLMSettings(device="cpu")) == "llamacpp"
    assert isinstance(LocalLLM.build(Settings(llm=LLMSettings(device="cpu"))), LlamaCppLLM)


def test_auto_falls_back_to_transformers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert local_backend_name(LLMSettings(model="HuggingFaceTB/SmolLM2-135M-Instruct")) == "transformers"
    hub_gguf = LLMSettings(device="cpu", model="bartowski/SmolLM2-135M-Instruct-GGUF", gguf_file="model.gguf")
    assert local_backend_name(hub_gguf) == "transformers"  # transformers fetches a GGUF from the Hub
    assert local_backend_name(LLMSettings(device="cpu", adapter=tmp_path)) == "transformers"  # LoRA: transformers
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # the llamacpp extra is not installed
    assert local_backend_name(LLMSettings(device="cpu")) == "transformers"
    assert isinstance(LocalLLM.build(Settings(llm=LLMSettings(device="cpu"))), TransformersLLM)
