"""LoRA fine-tuning of the configured local LLM: `LoraArguments` + `TrainingOptions` -> `LoraConfig` -> `Trainer`.

The base model is loaded exactly as the serving side loads it (`TransformersLLM`: the embedded SmolLM2 GGUF is
de-quantised once and cached), so the adapter folder this writes loads back with `[llm] adapter = DIR` or
`deskbot ask --adapter DIR`. The loss is on the answer tokens only; the prompt is the model's chat template.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.config import LLMSettings
from bot.finetune.chat_examples import IGNORE_INDEX, ChatExample, encode_pairs
from bot.finetune.checkpoints import checkpoints_dir, last_checkpoint
from bot.finetune.errors import TargetModuleError, TrainingDataError
from bot.finetune.evaluation import Progress, evaluate_llm
from bot.finetune.memory import check_memory
from bot.finetune.preparation import PreparedData
from bot.finetune.progress import quiet_trainer
from bot.finetune.report import write_run_folder

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class LoraArguments:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = DEFAULT_TARGETS


@dataclass(frozen=True)
class TrainingOptions:
    output_dir: Path
    max_steps: int = -1
    epochs: float = 3.0
    learning_rate: float = 5e-4
    batch_size: int = 8
    gradient_accumulation: int = 1
    max_length: int = 256
    save_steps: int = 25
    seed: int = 13
    resume: bool = False
    merge: bool = False
    evaluate: bool = True
    eval_generate: int = 8
    max_new_tokens: int = 64


@dataclass
class LoraResult:
    output_dir: Path
    train_examples: int
    validation_examples: int
    steps: int
    seconds: float
    tokens_per_second: float
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    merged_dir: Path | None = None


class PadCollator:
    """Right-pads a batch of `ChatExample`s; padded labels are ignored by the loss."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.tokens = 0  # real (unpadded) tokens collated, for the throughput figure

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            padding = width - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_token_id] * padding)
            labels.append(item["labels"] + [IGNORE_INDEX] * padding)
            mask.append([1] * len(item["input_ids"]) + [0] * padding)
            self.tokens += len(item["input_ids"])
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def as_features(examples: list[ChatExample]) -> list[dict[str, list[int]]]:
    return [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]


def load_base_model(settings: LLMSettings, cache_dir: Path | None) -> tuple[Any, Any, str]:
    """(model, tokenizer, device) of the configured model, without any adapter, as the serving side loads it."""
    from bot.llm.transformers_backend import TransformersLLM

    llm = TransformersLLM(settings.model_copy(update={"adapter": None}), cache_dir=cache_dir)
    model, tokenizer = llm.loaded()
    return model, tokenizer, llm.device


def check_target_modules(model: Any, targets: tuple[str, ...]) -> None:
    import torch

    linear = sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
    missing = [t for t in targets if t not in linear]
    if missing:
        raise TargetModuleError(
            f"the model has no module named {', '.join(repr(m) for m in missing)}; its linear layers are: "
            f"{', '.join(linear)} (--target-modules)"
        )


def lora_config(arguments: LoraArguments) -> Any:
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=arguments.rank,
        lora_alpha=arguments.alpha,
        lora_dropout=arguments.dropout,
        target_modules=list(arguments.target_modules),
        task_type=TaskType.CAUSAL_LM,
    )


def training_arguments(options: TrainingOptions, device: str) -> Any:
    import torch
    from transformers import TrainingArguments

    cuda = device.startswith("cuda")
    return TrainingArguments(
        output_dir=str(checkpoints_dir(options.output_dir)),
        per_device_train_batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation,
        learning_rate=options.learning_rate,
        num_train_epochs=options.epochs,
        max_steps=options.max_steps,
        lr_scheduler_type="linear",
        warmup_steps=0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        seed=options.seed,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def train_lora(
    settings: LLMSettings,
    data: PreparedData,
    arguments: LoraArguments,
    options: TrainingOptions,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> LoraResult:
    """Train a LoRA adapter on `data.train`, measure before/after on `data.validation`, write the adapter folder."""
    from peft import get_peft_model
    from transformers import Trainer

    report = progress or (lambda _phase, _done, _total: None)
    resume_from = last_checkpoint(options.output_dir) if options.resume else None
    model, tokenizer, device = load_base_model(settings, cache_dir)
    check_target_modules(model, arguments.target_modules)
    train, too_long = encode_pairs(tokenizer, data.train, options.max_length)
    validation, too_long_validation = encode_pairs(tokenizer, data.validation, options.max_length)
    if too_long or too_long_validation:
        data.dropped["prompt longer than --max-length"] += too_long + too_long_validation
    if not train:
        raise TrainingDataError(f"no training example fits in --max-length {options.max_length} tokens")
    longest = max(len(e.input_ids) for e in train)
    check_memory(model, device, options.batch_size, longest)

    model = get_peft_model(model, lora_config(arguments))
    trainable, total = model.get_nb_trainable_parameters()
    log.info("LoRA: %d trainable of %d parameters", trainable, total)
    collator = PadCollator(tokenizer.pad_token_id)
    trainer = quiet_trainer(
        Trainer(
            model=model,
            args=training_arguments(options, device),
            train_dataset=as_features(train),  # type: ignore[arg-type]
            data_collator=collator,
        ),
        report,
    )
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - started
    history = list(trainer.state.log_history)

    options.output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(options.output_dir))
    tokenizer.save_pretrained(str(options.output_dir))
    result = LoraResult(
        output_dir=options.output_dir,
        train_examples=len(train),
        validation_examples=len(validation),
        steps=int(trainer.state.global_step),
        seconds=seconds,
        tokens_per_second=collator.tokens / seconds if seconds > 0 else 0.0,
    )
    if options.evaluate and validation:
        report("evaluating", 0, 2)
        with model.disable_adapter():
            result.before = evaluate_llm(
                model, tokenizer, validation, data.validation, options.eval_generate, options.max_new_tokens, device
            )
        report("evaluating", 1, 2)
        result.after = evaluate_llm(
            model, tokenizer, validation, data.validation, options.eval_generate, options.max_new_tokens, device
        )
        report("evaluating", 2, 2)
    if options.merge:
        result.merged_dir = options.output_dir / "merged"
        merged = model.merge_and_unload()
        merged.save_pretrained(str(result.merged_dir))
        tokenizer.save_pretrained(str(result.merged_dir))
    _write_outputs(result, data, arguments, options, history)
    return result


def _write_outputs(
    result: LoraResult,
    data: PreparedData,
    arguments: LoraArguments,
    options: TrainingOptions,
    history: list[dict[str, Any]],
) -> None:
    training = {
        "lora": asdict(arguments),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "tokens_per_second": round(result.tokens_per_second, 1),
    }
    evaluation = {"before": result.before, "after": result.after, "validation_examples": result.validation_examples}
    write_run_folder(options.output_dir, "LoRA adapter", data.summary(), training, history, evaluation)
