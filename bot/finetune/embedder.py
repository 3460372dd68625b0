"""Embedder fine-tuning: (question, relevant passage) pairs, in-batch negatives (MultipleNegativesRankingLoss),
`EmbedderOptions` -> `SentenceTransformerTrainingArguments` -> `SentenceTransformerTrainer`.

Starts from the configured embedder (the bundled all-MiniLM-L6-v2 by default) and writes a sentence-transformers
folder usable as `[knowledge] embedder_model`. The knowledge index must then be rebuilt with it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.finetune.checkpoints import checkpoints_dir, last_checkpoint
from bot.finetune.errors import FinetuneError, TrainingDataError
from bot.finetune.evaluation import Progress, evaluate_retrieval
from bot.finetune.preparation import PreparedData
from bot.finetune.progress import quiet_trainer
from bot.finetune.report import write_run_folder
from bot.finetune.sources import TrainingPair, passage_text
from bot.llm.device import resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderOptions:
    output_dir: Path
    base_model: str = "all-MiniLM-L6-v2"
    max_steps: int = -1
    epochs: float = 1.0
    learning_rate: float = 5e-5
    batch_size: int = 32
    save_steps: int = 100
    seed: int = 13
    resume: bool = False
    evaluate: bool = True


@dataclass
class EmbedderResult:
    output_dir: Path
    train_pairs: int
    validation_queries: int
    steps: int
    seconds: float
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)


def query_text(pair: TrainingPair) -> str:
    """The retrieval query: the question after the last earlier user turn (which often names the subject)."""
    earlier = [m.content for m in pair.history if m.role == "user"][-1:]
    return " ".join([*earlier, pair.question])


def retrieval_pairs(pairs: Sequence[TrainingPair], documents: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(query, passage) for every relevant document of every pair that the knowledge file holds."""
    return [
        (query_text(pair), passage_text(documents[doc_id]))
        for pair in pairs
        for doc_id in pair.relevant_ids
        if doc_id in documents
    ]


def _held_out(pairs: Sequence[TrainingPair], documents: Mapping[str, Mapping[str, Any]]) -> list[TrainingPair]:
    return [p for p in pairs if any(doc_id in documents for doc_id in p.relevant_ids)]


def train_embedder(
    data: PreparedData,
    documents: Mapping[str, Mapping[str, Any]],
    options: EmbedderOptions,
    progress: Progress | None = None,
) -> EmbedderResult:
    """Fine-tune the embedder on `data.train`, measure recall@5/MRR on `data.validation`, write the model folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    try:  # sentence-transformers 6 moved these; the old paths still work but warn
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
        from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss  # type: ignore[no-redef]
        from sentence_transformers.training_args import BatchSamplers  # type: ignore[no-redef]

    from knowledge.embedders.sentence_transformer import resolve_model_path

    report = progress or (lambda _phase, _done, _total: None)
    train = retrieval_pairs(data.train, documents)
    if not train:
        raise TrainingDataError(
            "no training pair names a relevant document found in --knowledge (check 'relevant_ids')"
        )
    held_out = _held_out(data.validation, documents)
    device = resolve_device("auto", torch)
    try:
        model = SentenceTransformer(resolve_model_path(options.base_model), device=device)
    except (OSError, ValueError) as error:
        raise FinetuneError(f"cannot load embedder '{options.base_model}': {str(error).splitlines()[0]}") from error

    def measure() -> dict[str, float]:
        return evaluate_retrieval(
            model, [query_text(p) for p in held_out], [p.relevant_ids for p in held_out], documents
        )

    result = EmbedderResult(options.output_dir, len(train), len(held_out), 0, 0.0)
    if options.evaluate and held_out:
        report("evaluating before", 0, 1)
        result.before = measure()
    resume_from = last_checkpoint(options.output_dir) if options.resume else None
    arguments = SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints_dir(options.output_dir)),
        per_device_train_batch_size=options.batch_size,
        num_train_epochs=options.epochs,
        max_steps=options.max_steps,
        learning_rate=options.learning_rate,
        warmup_steps=0,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        logging_steps=1,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        seed=options.seed,
        use_cpu=device == "cpu",
        bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
        report_to=[],
        disable_tqdm=True,
    )
    trainer = quiet_trainer(
        SentenceTransformerTrainer(
            model=model,
            args=arguments,
            train_dataset=Dataset.from_dict({"anchor": [q for q, _ in train], "positive": [p for _, p in train]}),
            loss=MultipleNegativesRankingLoss(model),
        ),
        report,
    )
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    result.seconds = time.perf_counter() - started
    result.steps = int(trainer.state.global_step)
    history = list(trainer.state.log_history)
    if options.evaluate and held_out:
        report("evaluating after", 0, 1)
        result.after = measure()
    options.output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(options.output_dir))
    _write_outputs(result, data, options, history)
    return result


def _write_outputs(
    result: EmbedderResult, data: PreparedData, options: EmbedderOptions, history: list[dict[str, Any]]
) -> None:
    training = {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "train_pairs": result.train_pairs,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
    }
    evaluation = {"before": result.before, "after": result.after, "validation_queries": result.validation_queries}
    write_run_folder(options.output_dir, "Embedder fine-tune", data.summary(), training, history, evaluation)
