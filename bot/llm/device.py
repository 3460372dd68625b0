"""Where a local model runs and in which precision: `[llm] device` and `[llm] dtype` resolved against the machine.

`device = "auto"` is CUDA when torch sees a GPU, else the CPU; `"cuda"` (or `"cuda:N"`) without one is a clear error,
not a silent fall back to the CPU. `dtype = "auto"` is bfloat16 on a GPU that has it (Ampere and newer), float16 on an
older GPU, and bfloat16 on the CPU too (SmolLM2 prefills about 730 tokens/s against 450 in float32 on 2 cores). The
transformers backend loads the model this way, LoRA fine-tuning trains the model it loaded (so on the same device),
and the embedder fine-tuning picks its device here as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

DEVICE_SETTING = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class Placement:
    device: str
    """A torch device name: "cpu", "cuda" or "cuda:N"."""
    dtype: str
    """A torch dtype name: "float32", "bfloat16" or "float16"."""


def resolve_device(setting: str, torch: Any = None) -> str:
    """The torch device for `[llm] device` (auto, cpu, cuda, cuda:N) on this machine."""
    if not DEVICE_SETTING.fullmatch(setting):
        raise ConfigError(f"llm.device: '{setting}' is not auto, cpu, cuda or cuda:N")
    torch = torch or _torch()
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"llm.device: '{setting}' asked for, but torch sees no CUDA GPU here; set it to auto or cpu")
    return setting


def resolve_dtype(setting: str, device: str, torch: Any = None) -> str:
    """The torch dtype name for `[llm] dtype` (auto, float32, bfloat16, float16) on `device`."""
    if setting != "auto":
        return setting
    torch = torch or _torch()
    if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        return "float16"
    return "bfloat16"


def resolve_placement(device_setting: str, dtype_setting: str, torch: Any = None) -> Placement:
    device = resolve_device(device_setting, torch)
    return Placement(device, resolve_dtype(dtype_setting, device, torch))


def _torch() -> Any:
    import torch

    return torch
