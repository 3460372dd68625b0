"""Training throughput of `deskbot finetune lora` against a plain PyTorch loop on the same model, data and batches.

Both paths train the same LoRA (r=16 on q/k/v/o) on the configured model (SmolLM2-135M by default) with examples cut
to exactly --max-length tokens, so every step sees batch x max-length tokens. The first step of each run is warm-up
and not counted. Prints a table; numbers on a shared machine are noisy, so run it more than once (--repeats).

    .venv/bin/python benchmarks/finetune.py --data ../shared/data/covid_faq_paraphrases/dev.jsonl --steps 6
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bot.config import load_settings
from bot.finetune.chat_examples import encode_pair
from bot.finetune.lora import (
    LoraArguments,
    PadCollator,
    TrainingOptions,
    as_features,
    load_base_model,
    lora_config,
    train_lora,
)
from bot.finetune.preparation import PreparedData, prepare
from bot.finetune.sources import read_training_file


def full_length_data(data: PreparedData, tokenizer: object, max_length: int) -> PreparedData:
    kept = [p for p in data.train if (e := encode_pair(tokenizer, p, max_length)) and len(e.input_ids) == max_length]
    return PreparedData(train=kept, validation=[], format=data.format, read=data.read)


def deskbot_run(settings: object, data: PreparedData, args: argparse.Namespace, cache: Path) -> float:
    """tokens/s of train_lora over steps 2..N, timed at each optimizer step."""
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as output:
        options = TrainingOptions(
            output_dir=Path(output),
            max_steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            evaluate=False,
            save_steps=10_000,
        )
        train_lora(
            settings.llm,
            data,
            LoraArguments(),
            options,
            cache_dir=cache,  # type: ignore[attr-defined]
            progress=lambda _phase, _done, _total: stamps.append(time.perf_counter()),
        )
    return (len(stamps) - 1) * args.batch_size * args.max_length / (stamps[-1] - stamps[0])


def plain_run(settings: object, data: PreparedData, args: argparse.Namespace, cache: Path) -> float:
    """tokens/s of a bare loop: forward, backward, AdamW step, zero_grad, over the same batches."""
    import torch
    from peft import get_peft_model

    model, tokenizer, device = load_base_model(settings.llm, cache)  # type: ignore[attr-defined]
    model = get_peft_model(model, lora_config(LoraArguments()))
    model.train()
    from bot.finetune.chat_examples import encode_pairs

    examples, _ = encode_pairs(tokenizer, data.train, args.max_length)
    loader = torch.utils.data.DataLoader(
        as_features(examples), batch_size=args.batch_size, shuffle=True, collate_fn=PadCollator(tokenizer.pad_token_id)
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-4)
    stamps: list[float] = []
    batches = iter(loader)
    for _ in range(args.steps):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        stamps.append(time.perf_counter())
    return (len(stamps) - 1) * args.batch_size * args.max_length / (stamps[-1] - stamps[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--knowledge", type=Path)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = load_settings()
    cache = settings.llm.cache_dir or settings.data_dir / "models"
    from bot.finetune.sources import load_knowledge

    documents = load_knowledge(args.knowledge) if args.knowledge else None
    data = prepare(read_training_file(args.data, documents))
    _model, tokenizer, _device = load_base_model(settings.llm, cache)
    data = full_length_data(data, tokenizer, args.max_length)
    print(
        f"{len(data.train)} examples of exactly {args.max_length} tokens; batch {args.batch_size}; "
        f"{args.steps} steps per run (first one not timed)"
    )
    rows: list[tuple[str, float]] = []
    for _ in range(args.repeats):
        rows.append(("plain PyTorch loop", plain_run(settings, data, args, cache)))
        rows.append(("deskbot finetune lora (Trainer)", deskbot_run(settings, data, args, cache)))
    plain = sum(v for name, v in rows if name.startswith("plain")) / args.repeats
    print(f"\n| {'path':<32} | {'tokens/s':>9} | {'vs plain':>8} |\n|{'-' * 34}|{'-' * 11}|{'-' * 10}|")
    for name, value in rows:
        print(f"| {name:<32} | {value:9.1f} | {value / plain * 100:7.1f}% |")


if __name__ == "__main__":
    main()
