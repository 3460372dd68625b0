"""Before/after measurements on the held-out split: the LLM (perplexity, ROUGE-L, BLEU) and the embedder (recall@5,
MRR@10), with the metrics shared with `deskbot eval`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.evaluation.metrics import bleu, mrr_at_k, recall_at_k, rouge_l
from bot.finetune.chat_examples import ChatExample, prompt_text
from bot.finetune.sources import TrainingPair, passage_text
from bot.llm.perplexity import answer_perplexity, perplexity

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def generate_answers(
    model: Any, tokenizer: Any, pairs: Sequence[TrainingPair], max_new_tokens: int, device: str
) -> list[str]:
    import torch

    answers = []
    model.eval()
    for pair in pairs:
        inputs = tokenizer(prompt_text(tokenizer, pair), return_tensors="pt", add_special_tokens=False).to(device)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
            )
        answers.append(tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip())
    return answers


def evaluate_llm(
    model: Any,
    tokenizer: Any,
    examples: Sequence[ChatExample],
    pairs: Sequence[TrainingPair],
    generate: int,
    max_new_tokens: int,
    device: str,
) -> dict[str, float]:
    """Held-out answer perplexity (given the prompt), plain-text perplexity of the answers, and ROUGE-L/BLEU of greedy
    answers to the first `generate` held-out questions (references cut to `max_new_tokens`' worth of words)."""
    results = {
        "answer_perplexity": answer_perplexity(model, [(e.input_ids, e.labels) for e in examples], device),
        "text_perplexity": perplexity(model, tokenizer, [p.answer for p in pairs], max_tokens=256, device=device),
    }
    if generate > 0:
        sample = list(pairs[:generate])
        predictions = generate_answers(model, tokenizer, sample, max_new_tokens, device)
        references = [p.answer for p in sample]
        results["rougeL"] = rouge_l(predictions, references)
        results["bleu"] = bleu(predictions, references)
    return results


def rank_documents(
    embedder: Any, queries: Sequence[str], documents: Mapping[str, Mapping[str, Any]], batch_size: int = 64
) -> list[list[str]]:
    """Top-10 document ids per query by cosine similarity (whole documents, title + text)."""
    import numpy as np

    ids = list(documents)
    passages = embedder.encode(
        [passage_text(documents[i]) for i in ids], batch_size=batch_size, normalize_embeddings=True
    )
    vectors = embedder.encode(list(queries), batch_size=batch_size, normalize_embeddings=True)
    scores = np.asarray(vectors) @ np.asarray(passages).T
    top = np.argsort(-scores, axis=1)[:, :10]
    return [[ids[j] for j in row] for row in top]


def evaluate_retrieval(
    embedder: Any, queries: Sequence[str], relevant: Sequence[Sequence[str]], documents: Mapping[str, Mapping[str, Any]]
) -> dict[str, float]:
    ranked = rank_documents(embedder, queries, documents)
    n = max(len(queries), 1)
    return {
        "recall@1": sum(recall_at_k(r, rel, 1) for r, rel in zip(ranked, relevant, strict=True)) / n,
        "recall@5": sum(recall_at_k(r, rel, 5) for r, rel in zip(ranked, relevant, strict=True)) / n,
        "mrr@10": sum(mrr_at_k(r, rel, 10) for r, rel in zip(ranked, relevant, strict=True)) / n,
    }
