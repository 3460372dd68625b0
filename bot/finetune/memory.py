"""Estimate the memory a training step needs and refuse up front when the machine does not have it.

A rough, deliberately generous model: weights, LoRA optimizer state, per-layer activations and the float32 logits
(which dominate for small models with large vocabularies). Better to refuse with a clear line than to be killed by
the kernel half an hour in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.finetune.errors import InsufficientMemoryError

log = logging.getLogger(__name__)

GIB = 1024**3


@dataclass(frozen=True)
class MemoryEstimate:
    needed: int
    available: int
    device: str

    @property
    def fits(self) -> bool:
        return self.needed <= self.available * 0.9


def estimate_step_bytes(
    parameters: int, trainable: int, parameter_bytes: int, config: Any, batch_size: int, sequence: int
) -> int:
    hidden = int(getattr(config, "hidden_size", 768))
    layers = int(getattr(config, "num_hidden_layers", 12))
    heads = int(getattr(config, "num_attention_heads", 12))
    vocab = int(getattr(config, "vocab_size", 32000))
    weights = parameters * parameter_bytes
    optimizer = trainable * 16  # fp32 weight copy, gradient and two Adam moments
    tokens = batch_size * sequence
    activations = tokens * hidden * layers * 34 * parameter_bytes // 2 + batch_size * heads * sequence**2 * layers * 4
    logits = tokens * vocab * 4 * 3  # logits, log-softmax and their gradient, in float32
    return weights + optimizer + activations + logits


def available_bytes(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(model: Any, device: str, batch_size: int, sequence: int) -> MemoryEstimate:
    """Raise `InsufficientMemoryError` when a training step of this shape would not fit on `device`."""
    parameters = sum(p.numel() for p in model.parameters())
    first = next(model.parameters())
    estimate = MemoryEstimate(
        needed=estimate_step_bytes(
            parameters, parameters // 100, first.element_size(), model.config, batch_size, sequence
        ),
        available=available_bytes(device),
        device=device,
    )
    log.info(
        "training step needs about %.1f GiB, %.1f GiB free on %s",
        estimate.needed / GIB,
        estimate.available / GIB,
        device,
    )
    if not estimate.fits:
        raise InsufficientMemoryError(
            f"a batch of {batch_size} x {sequence} tokens needs about {estimate.needed / GIB:.1f} GiB but only "
            f"{estimate.available / GIB:.1f} GiB is free on {device}; lower --batch-size or --max-length"
        )
    return estimate
