"""Perplexity of a causal language model over text (answer evaluation, fine-tuning reports): a model's own measure,
so it lives with the model backends and the tools that report it import it from here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str], max_tokens: int = 512, device: str = "cpu") -> float:
    """exp(mean token negative log-likelihood) of a causal LM over `texts`."""
    import torch

    total_loss, total_tokens = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens)["input_ids"].to(device)
            if ids.shape[1] < 2:
                continue
            loss = model(input_ids=ids, labels=ids).loss
            tokens = ids.shape[1] - 1
            total_loss += float(loss) * tokens
            total_tokens += tokens
    return math.exp(total_loss / total_tokens) if total_tokens else float("nan")


def answer_perplexity(
    model: Any, examples: Sequence[tuple[Sequence[int], Sequence[int]]], device: str = "cpu"
) -> float:
    """exp(mean negative log-likelihood) of the labelled tokens only (labels -100 are the prompt and are skipped).

    `examples` are (input_ids, labels) pairs, as a fine-tuning data collator sees them: this is the perplexity of the
    answers given their prompts.
    """
    import torch

    total_loss, total_tokens = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for input_ids, labels in examples:
            tokens = sum(1 for label in list(labels)[1:] if label != -100)
            if tokens == 0:
                continue
            ids = torch.tensor([list(input_ids)], device=device)
            targets = torch.tensor([list(labels)], device=device)
            loss = model(input_ids=ids, labels=targets).loss
            total_loss += float(loss) * tokens
            total_tokens += tokens
    return math.exp(total_loss / total_tokens) if total_tokens else float("nan")
