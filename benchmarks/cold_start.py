"""First benchmark: cold start of `deskbot ask`, time to first token and tokens/s of the default model on a
~500-token prompt, and indexing time of the sample knowledge. Prints one table.

    .venv/bin/python benchmarks/cold_start.py [--repeats N]

Ratios compare against a baseline measured in the same run: the first-ever start (GGUF de-quantisation and sample
indexing included) for cold starts, float32 for the model's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

QUESTION = "What does Nimbus Plus cost per year?"


def time_ask(data_dir: Path) -> float:
    env = {**os.environ, "DESKBOT_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "ask", QUESTION, "--json"], env=env, check=True, capture_output=True, cwd=data_dir
    )
    return time.perf_counter() - started


def index_sample(data_dir: Path) -> tuple[float, int, int]:
    from bot.plugins import PluginRegistry
    from knowledge.base import KnowledgeBase
    from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder
    from knowledge.loaders.base import LoaderSet
    from knowledge.samples import sample_documents_folder

    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("warm up")  # load the model outside the timed part
    loaders = LoaderSet({name: plugin() for name, plugin in PluginRegistry().load_all("loaders").items()})
    kb = KnowledgeBase(data_dir / "bench-index", embedder, loaders)
    started = time.perf_counter()
    report = kb.writer.sync([sample_documents_folder()])
    return time.perf_counter() - started, report.added, kb.store.chunk_count


def model_speed(dtype: str, repeats: int) -> tuple[float, float, int]:
    from bot.config import LLMSettings
    from bot.llm.base import GenerationOptions
    from bot.llm.transformers_backend import TransformersLLM
    from bot.types import ChatMessage
    from knowledge.samples import sample_documents_folder

    llm = TransformersLLM(LLMSettings(dtype=dtype), cache_dir=Path(tempfile.gettempdir()) / "deskbot-bench-models")  # type: ignore[arg-type]
    llm.load()
    context = (sample_documents_folder() / "returns-policy.md").read_text(encoding="utf-8")
    words = context.split()
    while llm.prompt_tokens([ChatMessage("user", " ".join(words))]) < 500:
        words += words
    while llm.prompt_tokens([ChatMessage("user", " ".join(words))]) > 520:
        words = words[:-10]
    messages = [ChatMessage("user", " ".join(words) + "\n\nHow long is the return window?")]
    prompt_tokens = llm.prompt_tokens(messages)

    async def one() -> tuple[float, float]:
        started = time.perf_counter()
        first = None
        pieces = []
        async for piece in llm.stream(messages, GenerationOptions(max_new_tokens=64)):
            first = first or time.perf_counter()
            pieces.append(piece)
        ended = time.perf_counter()
        generated = llm.count_tokens("".join(pieces))
        assert first is not None
        return first - started, generated / max(ended - first, 1e-9)

    asyncio.run(one())  # warm-up
    runs = [asyncio.run(one()) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), prompt_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    table = Table(title=f"Deskbot cold start and default model ({os.cpu_count()} CPUs)")
    for column in ("measurement", "value", "ratio vs baseline", "baseline"):
        table.add_column(column)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        first = time_ask(data_dir)
        warm = statistics.median(time_ask(data_dir) for _ in range(args.repeats))
        table.add_row("`deskbot ask` first run (index sample + de-quantise GGUF)", f"{first:.1f} s", "1.00", "itself")
        table.add_row("`deskbot ask` later runs (median)", f"{warm:.1f} s", f"{warm / first:.2f}", "first run")
        seconds, documents, chunks = index_sample(data_dir)
        table.add_row(
            f"index sample knowledge ({documents} docs, {chunks} chunks, MiniLM)",
            f"{seconds:.2f} s",
            f"{documents / seconds:.0f} docs/s",
            "",
        )
    base_ttft, base_rate, prompt_tokens = model_speed("float32", args.repeats)
    table.add_row(f"TTFT, {prompt_tokens}-token prompt, float32", f"{base_ttft * 1000:.0f} ms", "1.00", "itself")
    table.add_row("decode speed, float32", f"{base_rate:.1f} tok/s", "1.00", "itself")
    ttft, rate, _ = model_speed("bfloat16", args.repeats)
    table.add_row("TTFT, same prompt, bfloat16", f"{ttft * 1000:.0f} ms", f"{ttft / base_ttft:.2f}", "float32")
    table.add_row("decode speed, bfloat16", f"{rate:.1f} tok/s", f"{rate / base_rate:.2f}", "float32")
    Console().print(table)


if __name__ == "__main__":
    main()
