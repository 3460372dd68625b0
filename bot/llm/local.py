"""`[llm] backend = "auto"` (the default): the fastest local backend that can run the configured model here.

llama.cpp (`LlamaCppLLM`) when the model is a GGUF (the embedded SmolLM2 or a `.gguf` file) with no LoRA adapter, it
runs on the CPU (`llm.device` cpu, or auto on a machine without a CUDA GPU), and the `xllamacpp` wheel is installed;
transformers (`TransformersLLM`) otherwise: Hugging Face ids and folders, LoRA adapters, GPUs, and installs without
the `llamacpp` extra. The choice is made once, when the backend is built, and logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import LLMSettings, Settings
from bot.llm.base import LLMBackend
from bot.llm.device import resolve_device
from bot.llm.llamacpp_backend import LlamaCppLLM, llamacpp_installed
from bot.llm.transformers_backend import DEFAULT_MODEL, TransformersLLM

log = logging.getLogger(__name__)


def is_gguf_model(settings: LLMSettings) -> bool:
    """Whether `llm.model` names a GGUF model here: the embedded one, a `.gguf` file, or a local folder with
    `llm.gguf_file` (a Hugging Face id with one is fetched by transformers)."""
    embedded = settings.model in {DEFAULT_MODEL, "default", ""}
    in_folder = settings.gguf_file is not None and Path(settings.model).expanduser().is_dir()
    return embedded or Path(settings.model).suffix == ".gguf" or in_folder


def local_backend_name(settings: LLMSettings) -> str:
    """`llamacpp` or `transformers`, as described above."""
    if settings.adapter is not None or not is_gguf_model(settings):
        return "transformers"
    if not llamacpp_installed():
        return "transformers"
    return "llamacpp" if resolve_device(settings.device) == "cpu" else "transformers"


class LocalLLM:
    """The `auto` entry point: builds the backend `local_backend_name` picks."""

    @classmethod
    def build(cls, settings: Settings) -> LLMBackend:
        name = local_backend_name(settings.llm)
        log.info("[llm] backend auto: %s for model '%s'", name, settings.llm.model)
        if name == "llamacpp":
            return LlamaCppLLM.build(settings)
        return TransformersLLM.build(settings)
