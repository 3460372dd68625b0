"""Retrieval benchmark: plain LangChain FAISS vs Deskbot dense vs Deskbot hybrid on the shared dev sets.

    .venv/bin/python benchmarks/retrieval.py [--quick] [--data ../shared/data] [--scale 1000,10000,100000]

The English sets are embedded with MiniLM, the Chinese crosswoz_zh with multilingual e5 (what `embedder = "auto"`
picks for it), the LangChain baseline with the same model as Deskbot; crosswoz_zh also gets a plain BM25 baseline
over jieba words. The baselines search the last user turn; Deskbot's rows go through its rewrite stage, as chat does.
Prints one table (recall@5, MRR@10, ingest docs/s, query p50/p95 per system and dev set), the time to re-ingest an
unchanged corpus against a full ingest, and hybrid query latency and memory at 1k/10k/100k chunks. The scale test
uses synthetic chunks and HashEmbedder vectors (384 dims, like MiniLM) so it measures the index, not the model; the
MiniLM query embedding time is reported beside it. `--quick` uses the first 40 answerable questions per set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import psutil
from langchain_core.embeddings import Embeddings

from bot.config import load_settings
from bot.evaluation.metrics import mrr_at_k, percentile, recall_at_k
from bot.evaluation.questions import Question, load_questions
from bot.evaluation.retrieval import RetrievalEvaluator, summarise
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from knowledge.documents import Document
from knowledge.embedders.base import Embedder
from knowledge.embedders.e5 import E5Embedder
from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder, bundled_minilm_path

DATASETS = ("mtrag_cloud_govt", "dstc11_track5", "covid_faq_paraphrases", "crosswoz_zh")
MULTILINGUAL = frozenset({"crosswoz_zh"})
"""Sets that are not English: embedded with e5, and given the BM25-over-jieba baseline."""


@dataclass(frozen=True)
class Row:
    dataset: str
    system: str
    n: int
    recall_at_5: float
    mrr_at_10: float
    ingest_docs_per_s: float
    p50_ms: float
    p95_ms: float


def last_user_turn(question: Question) -> str:
    return question.question


class LangChainEmbeddings(Embeddings):
    """A Deskbot embedder behind LangChain's `Embeddings` interface, for the baseline on sets MiniLM cannot read."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(text)]


def read_records(kb_file: Path) -> list[dict]:
    return [json.loads(line) for line in kb_file.read_text(encoding="utf-8").splitlines() if line.strip()]


def scored_row(dataset: str, system: str, questions: list[Question], search, docs_per_s: float) -> Row:
    """`search(text)` -> document ids, best first; run on each question's last user turn."""
    recalls, mrrs, latencies = [], [], []
    for question in questions:
        started = time.perf_counter()
        ranked = search(last_user_turn(question))
        latencies.append((time.perf_counter() - started) * 1000.0)
        recalls.append(recall_at_k(ranked, question.relevant_ids, 5))
        mrrs.append(mrr_at_k(ranked, question.relevant_ids, 10))
    return Row(
        dataset,
        system,
        len(questions),
        statistics.mean(recalls),
        statistics.mean(mrrs),
        docs_per_s,
        percentile(latencies, 50),
        percentile(latencies, 95),
    )


def langchain_baseline(dataset: str, kb_file: Path, questions: list[Question], embedder: Embedder) -> Row:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LangChainDocument

    records = read_records(kb_file)
    documents = [LangChainDocument(page_content=r["text"], metadata={"id": r["id"]}) for r in records]
    if dataset in MULTILINGUAL:
        embeddings = LangChainEmbeddings(embedder)
    else:
        from langchain_huggingface import HuggingFaceEmbeddings

        embeddings = HuggingFaceEmbeddings(model_name=str(bundled_minilm_path()), encode_kwargs={"batch_size": 64})
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    store = FAISS.from_documents(documents, embeddings)
    docs_per_s = len(documents) / (time.perf_counter() - started)

    def search(text: str) -> list[str]:
        return [d.metadata["id"] for d in store.similarity_search(text, k=10)]

    return scored_row(dataset, "langchain FAISS", questions, search, docs_per_s)


def jieba_bm25_baseline(dataset: str, kb_file: Path, questions: list[Question]) -> Row:
    """Plain BM25 (bm25s) over jieba's words of each document's title and text; nothing of Deskbot's."""
    import bm25s
    import jieba

    def tokens(text: str) -> list[str]:
        return [word for word in jieba.lcut(text.lower()) if any(ch.isalnum() for ch in word)]

    records = read_records(kb_file)
    started = time.perf_counter()
    index = bm25s.BM25()
    index.index([tokens(f"{r['title']}\n{r['text']}") for r in records], show_progress=False)
    docs_per_s = len(records) / (time.perf_counter() - started)

    def search(text: str) -> list[str]:
        words = tokens(text)
        if not words:
            return []
        found, _scores = index.retrieve([words], k=10, show_progress=False)
        return [records[int(i)]["id"] for i in found[0]]

    return scored_row(dataset, "BM25 (jieba words)", questions, search, docs_per_s)


def shared_embedder_registry(embedder: object) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register("embedders", "benchmark", lambda model=None: embedder)
    return registry


def deskbot_runtime(kb_folder: Path, index_dir: Path, retriever: str, registry: PluginRegistry) -> Runtime:
    settings = load_settings(data_dir=index_dir / "data")
    settings.knowledge.path = kb_folder
    settings.knowledge.index_dir = index_dir
    settings.knowledge.embedder = "benchmark"
    settings.knowledge.retriever = retriever  # type: ignore[assignment]
    settings.llm.backend = "fake"
    return Runtime(settings, registry)


def deskbot_rows(dataset: str, kb_folder: Path, questions: list[Question], embedder: object) -> tuple[list[Row], dict]:
    registry = shared_embedder_registry(embedder)
    from bot.llm.fake import FakeLLM

    registry.register("llm", "fake", lambda _settings: FakeLLM())
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        first = deskbot_runtime(kb_folder, index_dir, "dense", registry)
        knowledge = first.knowledge(sync=False)
        started = time.perf_counter()
        report = knowledge.writer.sync([kb_folder], prune=True)
        ingest_s = time.perf_counter() - started
        documents = report.added
        started = time.perf_counter()
        again = knowledge.writer.sync([kb_folder], prune=True)
        reingest_s = time.perf_counter() - started
        assert not again.changed, again
        for system in ("dense", "hybrid"):
            runtime = deskbot_runtime(kb_folder, index_dir, system, registry)
            runtime.settings.knowledge.sync_on_start = False
            evaluator = RetrievalEvaluator(runtime)
            evaluator.check_questions(questions)
            evaluator.runtime.retriever().retrieve("warm up", 5)

            async def run_all(ev: RetrievalEvaluator = evaluator) -> list:
                return [await ev.rank(q) for q in questions]

            summary = summarise(asyncio.run(run_all()))
            rows.append(
                Row(
                    dataset,
                    f"deskbot {system}",
                    summary.n,
                    summary.recall_at_5,
                    summary.mrr_at_10,
                    documents / ingest_s,
                    summary.latency_ms_p50,
                    summary.latency_ms_p95,
                )
            )
    sync_facts = {
        "dataset": dataset,
        "full_s": ingest_s,
        "unchanged_s": reingest_s,
        "chunks": knowledge.store.chunk_count,
    }
    return rows, sync_facts


def scale_test(sizes: list[int], vocabulary: list[str], index_types: list[str]) -> list[dict]:
    from knowledge.base import KnowledgeBase
    from knowledge.chunking import Chunker
    from knowledge.embedders.hashing import HashEmbedder
    from knowledge.retrievers.hybrid import HybridRetriever

    rng = random.Random(7)
    process = psutil.Process()
    results = []
    for size, index_type in [(size, kind) for size in sizes for kind in index_types]:
        with tempfile.TemporaryDirectory() as tmp:
            embedder = HashEmbedder(384)
            before = process.memory_info().rss
            chunker = Chunker(embedder.count_tokens, max_tokens=180)
            knowledge = KnowledgeBase(Path(tmp), embedder, chunker=chunker, index_type=index_type)  # type: ignore[arg-type]
            documents = [
                Document(f"doc-{i}", f"topic {i % 997}", " ".join(rng.choices(vocabulary, k=40))) for i in range(size)
            ]
            started = time.perf_counter()
            knowledge.writer.add_documents(documents)
            build_s = time.perf_counter() - started
            retriever = HybridRetriever(knowledge.store)
            retriever.retrieve("warm up", 5)
            latencies = []
            for _ in range(200):
                query = " ".join(rng.choices(vocabulary, k=8))
                started = time.perf_counter()
                retriever.retrieve(query, 5)
                latencies.append((time.perf_counter() - started) * 1000.0)
            results.append(
                {
                    "chunks": knowledge.store.chunk_count,
                    "index": index_type,
                    "build_s": build_s,
                    "p50_ms": percentile(latencies, 50),
                    "p95_ms": percentile(latencies, 95),
                    "rss_mb": (process.memory_info().rss - before) / 2**20,
                }
            )
            del retriever, knowledge, documents
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--quick", action="store_true", help="40 questions per set, scale test up to 10k chunks")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--scale", default="1000,10000,100000")
    parser.add_argument("--index-types", default="flat,hnsw", help="index types for the scale test")
    args = parser.parse_args()
    limit = 40 if args.quick else None
    sizes = [int(s) for s in args.scale.split(",") if s and (not args.quick or int(s) <= 10000)]

    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("warm up")
    multilingual: Embedder | None = None
    rows: list[Row] = []
    syncs = []
    vocabulary: list[str] = []
    for dataset in [name for name in args.datasets.split(",") if name and name != "none"]:
        folder = args.data / dataset
        questions = [q for q in load_questions(folder / "dev.jsonl") if q.answerable and q.relevant_ids][:limit]
        print(f"{dataset}: {len(questions)} answerable questions", file=sys.stderr, flush=True)
        used: Embedder = embedder
        if dataset in MULTILINGUAL:
            multilingual = multilingual or E5Embedder()
            used = multilingual
        first = len(rows)
        rows.append(langchain_baseline(dataset, folder / "kb" / "kb.jsonl", questions, used))
        if dataset in MULTILINGUAL:
            rows.append(jieba_bm25_baseline(dataset, folder / "kb" / "kb.jsonl", questions))
        deskbot, sync_facts = deskbot_rows(dataset, folder / "kb", questions, used)
        rows.extend(deskbot)
        syncs.append(sync_facts)
        for row in rows[first:]:  # as they come, so a long run that is cut short still shows its numbers
            print(f"partial: {row} {sync_facts}", file=sys.stderr, flush=True)
        if not vocabulary and dataset not in MULTILINGUAL:
            text = (folder / "kb" / "kb.jsonl").read_text(encoding="utf-8")
            vocabulary = sorted({w for w in text.lower().split() if w.isalpha()})[:20000]

    print(
        f"\nDeskbot embeds the English sets with {embedder.name} (the LangChain baseline runs the same weights in "
        f"float32) and crosswoz_zh with {multilingual.name if multilingual else 'e5'} (so does its baseline)."
    )
    print("\n| dataset | system | n | recall@5 | MRR@10 | ingest docs/s | query p50 ms | query p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.dataset} | {row.system} | {row.n} | {row.recall_at_5:.3f} | {row.mrr_at_10:.3f} | "
            f"{row.ingest_docs_per_s:.1f} | {row.p50_ms:.1f} | {row.p95_ms:.1f} |"
        )
    print("\n| dataset | chunks | full ingest s | unchanged re-ingest s | ratio |")
    print("|---|---|---|---|---|")
    for facts in syncs:
        ratio = facts["unchanged_s"] / facts["full_s"]
        print(
            f"| {facts['dataset']} | {facts['chunks']} | {facts['full_s']:.1f} | "
            f"{facts['unchanged_s']:.2f} | {ratio:.1%} |"
        )

    query_times = []
    for number in range(50):  # distinct queries: the embedder remembers recent ones (RecentQueries)
        started = time.perf_counter()
        embedder.embed_query(f"how do I reset my password for object storage bucket {number}")
        query_times.append((time.perf_counter() - started) * 1000.0)
    print(
        f"\nMiniLM query embedding: p50 {percentile(query_times, 50):.1f} ms, p95 {percentile(query_times, 95):.1f} ms"
    )
    if sizes and not vocabulary:
        text = (args.data / DATASETS[0] / "kb" / "kb.jsonl").read_text(encoding="utf-8")
        vocabulary = sorted({w for w in text.lower().split() if w.isalpha()})[:20000]
    print("\n| chunks | index | build s | hybrid retrieve p50 ms | p95 ms | RSS growth MB |")
    print("|---|---|---|---|---|---|")
    for result in scale_test(sizes, vocabulary, args.index_types.split(",")):
        print(
            f"| {result['chunks']} | {result['index']} | {result['build_s']:.1f} | {result['p50_ms']:.1f} | "
            f"{result['p95_ms']:.1f} | "
            f"{result['rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
