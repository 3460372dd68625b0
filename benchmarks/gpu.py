"""TTFT, decode speed and LoRA fine-tuning speed of the local model, on whatever device `[llm] device` resolves to.

On a GPU machine it measures the GPU profile (CUDA, bfloat16 where the GPU has it); without one it runs the same
measurements smaller on the CPU. Every line says which device and dtype it measured.

- TTFT: a grounded prompt (passages of the shared covid FAQ knowledge base, about --prompt-tokens tokens) streamed
  through `TransformersLLM.stream`, the path a turn takes, until its first text arrives; the median of --runs.
- decode tokens/s: one streamed reply of up to --new-tokens tokens on the same prompt (the same path); its tokens
  after the first over the time after the first text arrived.
- fine-tuning steps/s: `train_lora` (the code `deskbot finetune lora` runs) for --steps optimizer steps on the
  covid FAQ dev questions; the first step is warm-up and not counted.

    .venv/bin/python benchmarks/gpu.py                 # sizes for the device found
    .venv/bin/python benchmarks/gpu.py --device cpu --steps 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from bot.config import LLMSettings, load_settings
from bot.finetune.lora import LoraArguments, TrainingOptions, train_lora
from bot.finetune.preparation import prepare
from bot.finetune.sources import read_training_file
from bot.llm.base import GenerationOptions
from bot.llm.transformers_backend import TransformersLLM
from bot.types import ChatMessage

DATA = Path("/work/shared/data/covid_faq_paraphrases")
RESULTS = Path(__file__).parent / "results"
SIZES = {  # the defaults of each kind of device; the command line overrides any of them
    "cuda": {"prompt_tokens": 512, "new_tokens": 128, "runs": 10, "steps": 20, "batch_size": 8, "max_length": 256},
    "cpu": {"prompt_tokens": 384, "new_tokens": 32, "runs": 3, "steps": 3, "batch_size": 2, "max_length": 128},
}


def grounded_prompt(llm: TransformersLLM, target_tokens: int) -> list[ChatMessage]:
    passages: list[str] = []
    with (DATA / "kb" / "kb.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            document = json.loads(line)
            passages.append(f"[{len(passages) + 1}] {document['title']}\n{document['text']}")
            messages = _messages(passages)
            if llm.prompt_tokens(messages) >= target_tokens:
                return messages
    return _messages(passages)


def _messages(passages: list[str]) -> list[ChatMessage]:
    context = "\n\n".join(passages)
    return [
        ChatMessage("system", "Answer from the passages only, and cite them as [n]."),
        ChatMessage("user", f"Passages:\n{context}\n\nQuestion: How is the virus spread?"),
    ]


async def first_text_ms(llm: TransformersLLM, messages: list[ChatMessage]) -> float:
    started = time.perf_counter()
    stream = llm.stream(messages, GenerationOptions(max_new_tokens=8, timeout_s=300))
    await anext(stream)
    elapsed = (time.perf_counter() - started) * 1000
    await stream.aclose()
    return elapsed


async def decode_tokens_per_s(llm: TransformersLLM, messages: list[ChatMessage], new_tokens: int) -> float:
    """Tokens after the first over the seconds after the first, of one streamed reply of up to `new_tokens`."""
    pieces: list[str] = []
    first_at = 0.0
    async for piece in llm.stream(messages, GenerationOptions(max_new_tokens=new_tokens, timeout_s=600)):
        if not pieces:
            first_at = time.perf_counter()
        pieces.append(piece)
    ended = time.perf_counter()
    generated = len(llm._tokenizer("".join(pieces), add_special_tokens=False).input_ids)
    return (generated - 1) / max(ended - first_at, 1e-9)


def lora_steps_per_s(settings: LLMSettings, cache: Path, steps: int, batch: int, max_length: int) -> float:
    data = prepare(read_training_file(DATA / "dev.jsonl", None))
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as output:
        options = TrainingOptions(
            output_dir=Path(output),
            max_steps=steps,
            batch_size=batch,
            max_length=max_length,
            evaluate=False,
            save_steps=10_000,
        )
        train_lora(
            settings,
            data,
            LoraArguments(),
            options,
            cache_dir=cache,
            progress=lambda _phase, _done, _total: stamps.append(time.perf_counter()),
        )
    if len(stamps) < 2:
        raise SystemExit(f"fine-tuning reported {len(stamps)} steps; ask for --steps 2 or more")
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="[llm] device: auto, cpu, cuda, cuda:N")
    parser.add_argument("--dtype", default="auto", help="[llm] dtype: auto, float32, bfloat16, float16")
    parser.add_argument("--prompt-tokens", type=int)
    parser.add_argument("--new-tokens", type=int)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--skip-finetune", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = load_settings(data_dir=RESULTS / "data")
    settings.llm.device, settings.llm.dtype = args.device, args.dtype
    cache = settings.data_dir / "models"
    llm = TransformersLLM(settings.llm, cache_dir=cache)
    llm.load()
    kind = "cuda" if llm.device.startswith("cuda") else "cpu"
    size = {name: getattr(args, name) or default for name, default in SIZES[kind].items()}
    dtype = str(next(llm._model.parameters()).dtype).removeprefix("torch.")
    print(f"device: {llm.device} ({_device_name(llm.device)}), dtype {dtype}, model {settings.llm.model}", flush=True)

    messages = grounded_prompt(llm, size["prompt_tokens"])
    asyncio.run(first_text_ms(llm, messages))  # warm-up
    ttft = [asyncio.run(first_text_ms(llm, messages)) for _ in range(size["runs"])]
    decode = asyncio.run(decode_tokens_per_s(llm, messages, size["new_tokens"]))
    prompt = f"TTFT, {llm.prompt_tokens(messages)}-token prompt (median of {size['runs']})"
    rows = [
        (prompt, f"{statistics.median(ttft):.0f} ms"),
        (f"decode, up to {size['new_tokens']} tokens", f"{decode:.1f} tokens/s"),
    ]
    if not args.skip_finetune:
        steps = lora_steps_per_s(settings.llm, cache, size["steps"], size["batch_size"], size["max_length"])
        shape = f"batch {size['batch_size']} x {size['max_length']} tokens"
        rows.append((f"LoRA fine-tuning, {shape}, {size['steps']} steps", f"{steps:.2f} steps/s"))
    print(f"\n| {'measure':<58} | {kind + ' ' + dtype:>16} |\n|{'-' * 60}|{'-' * 18}|")
    for name, value in rows:
        print(f"| {name:<58} | {value:>16} |")


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(torch.device(device)))
    return f"{torch.get_num_threads()} CPU threads"


if __name__ == "__main__":
    main()
