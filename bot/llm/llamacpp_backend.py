"""`LlamaCppLLM`: a local GGUF model through llama.cpp on the CPU (the prebuilt `xllamacpp` wheel, extra `llamacpp`).

On two cores llama.cpp decodes the embedded SmolLM2-135M several times faster than transformers, and keeps the key/value
cache of the previous prompt, so the system prompt that every turn shares is not computed again (docs/llm.md).

`model` is what `TransformersLLM` takes for a GGUF: `smollm2` (the embedded SmolLM2-135M-Instruct) or a `.gguf`
file. Tensors the wheel has no fast CPU kernel for (Q4_1, the embedded model's) are re-quantised once to Q8_0
(`bot.llm.gguf_requantize`) and the copy is cached under `<data_dir>/models/` with the model's tokenizer; later
starts read both from there.

The chat template is applied by the GGUF's own tokenizer through transformers (the tokenizer `TransformersLLM` uses),
so both backends give the model the same tokens; llama.cpp gets their ids. llama.cpp's server runs inside the
process (`xllamacpp.Server`: one slot, `llm.threads` CPU threads, a context of `llm.context_window` tokens) and is
called from one worker thread; each generated piece reaches the event loop through a callback. The callback answers
"stop" once the caller stopped listening (its timeout, a cancelled turn, the sentence stop of
`bot.llm.sentence_stop`), which ends the generation at its next token; a generation abandoned while it waited for
the worker thread never starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.config import LLMSettings, Settings
from bot.errors import LLMError
from bot.llm.base import GenerationOptions
from bot.llm.gguf_requantize import GgufSummary, requantized_copy, summarize
from bot.llm.sentence_stop import stop_after_sentences
from bot.llm.transformers_backend import resolve_model
from bot.llm.worker_thread import Emit, load_on_worker, stream_from_worker
from bot.types import ChatMessage

log = logging.getLogger(__name__)

INSTALL_HINT = "install the llamacpp extra: pip install 'deskbot[llamacpp]' (the prebuilt xllamacpp wheel)"


def llamacpp_installed() -> bool:
    """Whether the llama.cpp runtime (`xllamacpp`) can be imported here."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return False
    return True


class LlamaCppLLM:
    def __init__(self, settings: LLMSettings, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self._cache_dir = settings.cache_dir or cache_dir
        self._server: Any = None
        self._tokenizer: Any = None
        self._gguf: Path | None = None
        self._summary: GgufSummary | None = None
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskbot-llamacpp")

    @classmethod
    def build(cls, settings: Settings) -> LlamaCppLLM:
        return cls(settings.llm, cache_dir=settings.data_dir / "models")

    @property
    def name(self) -> str:
        return self.settings.model

    def _source(self) -> Path:
        folder, gguf = resolve_model(self.settings.model, self.settings.gguf_file)
        if gguf is None:
            raise LLMError(f"the llamacpp backend runs GGUF models; '{self.settings.model}' is not one (a .gguf file)")
        source = Path(folder) / gguf
        if not source.is_file():
            raise LLMError(f"{source}: GGUF file not found")
        return source

    def _cache_folder(self, source: Path) -> Path | None:
        if self._cache_dir is None:
            return None
        stat = source.stat()
        key = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        return self._cache_dir / f"{source.stem}-{key}-llamacpp"

    @staticmethod
    def _summarize(source: Path, cached: Path | None) -> GgufSummary:
        """`summarize(source)`, kept in the cache folder: later starts skip reading the whole file."""
        remembered = cached / "summary.json" if cached is not None else None
        if remembered is not None and remembered.is_file():
            return GgufSummary(**json.loads(remembered.read_text(encoding="utf-8")))
        summary = summarize(source)
        if remembered is not None:
            remembered.parent.mkdir(parents=True, exist_ok=True)
            remembered.write_text(json.dumps(summary.__dict__), encoding="utf-8")
        return summary

    def _weights(self, source: Path, summary: GgufSummary, cached: Path | None) -> Path:
        """The GGUF llama.cpp loads: a Q8_0 copy when `source` has slow tensors (cached when there is a cache)."""
        if self.settings.requantize == "none" or not summary.slow_tensors:
            return source
        if cached is None:
            raise LLMError(
                f"{source} has Q4_1 tensors, which run slowly in llama.cpp's CPU wheel; give the backend a cache "
                "folder for its Q8_0 copy (llm.cache_dir) or set llm.requantize = 'none'"
            )
        return requantized_copy(source, cached / "model.gguf")

    def _load_tokenizer(self, source: Path, cached: Path | None) -> Any:
        from transformers import AutoTokenizer

        try:
            if cached is not None and (cached / "tokenizer_config.json").is_file():
                return AutoTokenizer.from_pretrained(cached)
            tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        except (OSError, ValueError) as error:
            raise LLMError(f"cannot read the tokenizer of {source}: {str(error).splitlines()[0]}") from error
        if cached is not None:
            tokenizer.save_pretrained(cached)
        return tokenizer

    def load(self) -> None:
        with self._load_lock:
            if self._server is not None:
                return
            try:
                import xllamacpp
            except ImportError as error:
                raise LLMError(f"the llamacpp backend needs the xllamacpp package: {INSTALL_HINT}") from error
            source = self._source()
            cached = self._cache_folder(source)
            summary = self._summarize(source, cached)
            weights = self._weights(source, summary, cached)
            params = xllamacpp.CommonParams()
            params.model.path = str(weights)
            params.n_ctx = self.settings.context_window
            params.n_parallel = 1
            if self.settings.threads:
                params.cpuparams.n_threads = self.settings.threads
                params.cpuparams_batch.n_threads = self.settings.threads
            params.verbosity = -1
            try:
                server = xllamacpp.Server(params)
            except RuntimeError as error:
                message = f"cannot load model '{self.settings.model}': llama.cpp could not read {weights}"
                raise LLMError(message) from error
            tokenizer = self._load_tokenizer(source, cached)
            self._server, self._tokenizer, self._gguf, self._summary = server, tokenizer, weights, summary
            log.info("loaded %s with llama.cpp (%s)", self.settings.model, weights.name)

    def parameter_count(self) -> int:
        """How many weights the model has: `answer.mode = "auto"` composes below a size."""
        self.load()
        assert self._summary is not None
        return self._summary.parameters

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The token ids of `messages` in the model's chat template, ready for its reply."""
        self.load()
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        encoded = self._tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_dict=True)
        return list(encoded["input_ids"])

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.prompt_ids(messages))

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        """The reply's text as the model writes it; `options.timeout_s` counts from this call, time spent waiting
        for the worker thread (behind other generations) included."""
        return stop_after_sentences(self._generate(messages, options), options.max_sentences)

    def _request(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        request: dict[str, Any] = {
            "prompt": self.prompt_ids(messages),
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "stream": True,
            "cache_prompt": True,  # the shared start of consecutive prompts (the system prompt) is computed once
        }
        if options.stop:
            request["stop"] = list(options.stop)
        return request

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        deadline = asyncio.get_running_loop().time() + options.timeout_s
        if self._server is None:  # loading takes the worker thread; a loaded model needs no trip to it here
            await load_on_worker(self._executor, self.load, self.name, options.timeout_s)
        request = self._request(messages, options)

        def generate(emit: Emit, cancelled: threading.Event) -> None:
            failures: list[str] = []

            def on_chunk(chunk: dict[str, Any]) -> bool:
                """Called by llama.cpp for each streamed chunk; True ends the generation."""
                if "error" in chunk or "choices" not in chunk:
                    failures.append(str(chunk.get("error", chunk)))
                    return True
                emit(chunk["choices"][0].get("text") or "")
                return cancelled.is_set()

            self._server.handle_completions(request, on_chunk)
            if failures:
                raise LLMError(f"model '{self.name}' failed: {failures[0]}")

        stream = stream_from_worker(self._executor, generate, self.name, deadline, options.timeout_s)
        async with contextlib.aclosing(stream) as pieces:
            async for piece in pieces:
                yield piece
