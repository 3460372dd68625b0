"""What the multilingual e5 embedder costs: ingest docs/s and query latency, by batch size and thread count.

    .venv/bin/python benchmarks/multilingual_embedder.py [--docs 300] [--data ../shared/data]

Embeds the first N crosswoz_zh documents (Chinese, about 300 e5 tokens each, as the writer chunks them) and 50
Chinese questions with `E5Embedder` in each configuration, each in a fresh process (the engine's OpenMP thread count
is fixed when it loads), and all-MiniLM-L6-v2 as the reference. `docs/s` counts documents through chunking and
embedding, as `deskbot ingest` does them (FAISS and the manifest are not included: they cost milliseconds here).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CONFIGS = [("e5", 1, 16), ("e5", 1, 256), ("e5", 2, 16), ("e5", 2, 64), ("e5", 2, 256), ("minilm", 2, 256)]


def measure(kind: str, threads: int, batch: int, data: Path, limit: int) -> dict[str, float]:
    """Runs in its own process: chunk and embed `limit` documents, then time 50 queries."""
    from bot.evaluation.metrics import percentile
    from knowledge import embedding_cache
    from knowledge.chunking import Chunker
    from knowledge.documents import Document

    embedder: object
    if kind == "e5":
        from knowledge.embedders.e5 import E5Embedder

        embedder = E5Embedder(threads=threads)
    else:
        import torch

        torch.set_num_threads(threads)
        from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(precision="float32")
    embedder.embed_query("预热")  # type: ignore[attr-defined]
    records = [json.loads(line) for line in (data / "kb" / "kb.jsonl").read_text(encoding="utf-8").splitlines()]
    documents = [Document(r["id"], r["title"], r["text"]) for r in records[:limit]]
    questions = [json.loads(line)["question"] for line in (data / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    chunker = Chunker(embedder.count_tokens, max_tokens=min(200, embedder.max_tokens))  # type: ignore[attr-defined]
    embedding_cache.BATCH_SIZE = batch
    started = time.perf_counter()
    chunks = [chunk for document in documents for chunk in chunker.split(document)]
    embedding_cache.embed_texts(embedder, [chunk.embedding_text() for chunk in chunks])  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    latencies = []
    for question in questions[:50]:
        started = time.perf_counter()
        embedder.embed_query(question)  # type: ignore[attr-defined]
        latencies.append((time.perf_counter() - started) * 1000.0)
    return {
        "docs_per_s": len(documents) / seconds,
        "chunks": len(chunks),
        "query_p50_ms": percentile(latencies, 50),
        "query_p95_ms": percentile(latencies, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # kind,threads,batch: measure in this process
    args = parser.parse_args()
    data = args.data / "crosswoz_zh"
    if args.one:
        kind, threads, batch = args.one.split(",")
        print(json.dumps(measure(kind, int(threads), int(batch), data, args.docs)))
        return
    print(f"{args.docs} crosswoz_zh documents, {os.cpu_count()} CPUs\n")
    print("| embedder | threads | batch | chunks | docs/s | query p50 ms | query p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for kind, threads, batch in CONFIGS:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        command = [sys.executable, __file__, "--data", str(args.data), "--docs", str(args.docs)]
        one = [*command, "--one", f"{kind},{threads},{batch}"]
        result = subprocess.run(one, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            print(f"| {kind} | {threads} | {batch} | failed: {result.stderr.strip().splitlines()[-1]} |")
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"| {kind} | {threads} | {batch} | {row['chunks']} | {row['docs_per_s']:.1f} | "
            f"{row['query_p50_ms']:.1f} | {row['query_p95_ms']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
