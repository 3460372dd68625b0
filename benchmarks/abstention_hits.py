"""What the answer policy sees on each dev item: the message and the retrieved hits, cached once per dev set.

For every dev item it runs the pipeline's `rewrite` and `retrieve` stages as `deskbot eval` does (the item's history
in `turn.history`, `knowledge.top_k` hits, the set's embedder from `rewrite_recall.EMBEDDERS`) and records the
message, the search query and each hit's chunk and scores. The cache (benchmarks/results/abstention_hits_<name>.json)
lets the abstention model be refitted and evaluated without retrieving again; delete it after re-indexing a set.
Each item's history (the texts of its earlier turns) is read from the dev set itself, and `title_index` reads the
set's index snapshot for the knowledge base's titles (`knowledge.titles`) without loading an embedder.
`sentence_cosines` gives each item's cosines of its message to the sentences of its top passages
(`bot.abstention.SentenceSimilarity` over `answer_spans`, the set's embedder), cached the same way
(benchmarks/results/abstention_sentences_<name>.json; delete it with the hits cache).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from rewrite_recall import DATA, RESULTS, open_runtime

from bot.abstention import answer_spans
from bot.config import AnswerSettings, KnowledgeSettings
from bot.evaluation.questions import load_questions
from bot.stages.retrieve import RetrieveStage
from bot.stages.rewrite import RewriteStage
from bot.types import Message, Reply, Turn
from knowledge.documents import Chunk, SearchHit
from knowledge.manifest import read_manifest
from knowledge.snapshots import MANIFEST, SnapshotStore
from knowledge.titles import TitleIndex


@dataclass(frozen=True)
class Item:
    """One dev item as the answer stage meets it."""

    id: str
    dialogue_id: str
    answerable: bool
    relevant_ids: tuple[str, ...]
    message: str
    query: str
    hits: tuple[SearchHit, ...]
    history: tuple[str, ...] = ()


def _hit_record(hit: SearchHit) -> dict[str, Any]:
    chunk = hit.chunk
    return {
        "chunk": [chunk.id, chunk.document_id, chunk.title, chunk.text, chunk.source, chunk.section],
        "metadata": {key: chunk.metadata[key] for key in ("doc_type", "type") if key in chunk.metadata},
        "scores": [hit.score, hit.lexical_score, hit.fused_score],
    }


def _hit(record: dict[str, Any]) -> SearchHit:
    chunk_id, document_id, title, text, source, section = record["chunk"]
    score, lexical_score, fused_score = record["scores"]
    chunk = Chunk(chunk_id, document_id, title, text, source, section, record["metadata"])
    return SearchHit(chunk, score, lexical_score, fused_score)


def _item_record(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "dialogue_id": item.dialogue_id,
        "answerable": item.answerable,
        "relevant_ids": list(item.relevant_ids),
        "message": item.message,
        "query": item.query,
        "hits": [_hit_record(hit) for hit in item.hits],
    }


def _item(record: dict[str, Any]) -> Item:
    return Item(
        record["id"],
        record["dialogue_id"],
        record["answerable"],
        tuple(record["relevant_ids"]),
        record["message"],
        record["query"],
        tuple(_hit(hit) for hit in record["hits"]),
    )


async def retrieve_items(name: str) -> list[Item]:
    runtime = open_runtime(name)
    services = runtime.services()
    top_k = KnowledgeSettings().top_k  # the default, as deskbot uses it (open_runtime retrieves more for recall)
    rewrite, retrieve = RewriteStage.build(services), RetrieveStage(runtime.retriever(), top_k)

    async def end(turn: Turn) -> Reply:
        return Reply(text="")

    items = []
    for q in load_questions(DATA / name / "dev.jsonl"):
        turn = Turn(message=Message(text=q.question), history=list(q.history))
        await rewrite(turn, lambda t: retrieve(t, end))
        items.append(
            Item(q.id, q.dialogue_id, q.answerable, tuple(q.relevant_ids), q.question, turn.query, tuple(turn.hits))
        )
    return items


def dev_items(name: str) -> list[Item]:
    """The set's items with their hits (from the cache when there is one) and their history."""
    cache = RESULTS / f"abstention_hits_{name}.json"
    if cache.exists():
        items = [_item(record) for record in json.loads(cache.read_text())]
    else:
        print(f"retrieving for {name} ...", flush=True)
        items = asyncio.run(retrieve_items(name))
        cache.write_text(json.dumps([_item_record(item) for item in items], ensure_ascii=False))
    history = {q.id: tuple(turn.content for turn in q.history) for q in load_questions(DATA / name / "dev.jsonl")}
    return [replace(item, history=history[item.id]) for item in items]


def sentence_cosines(name: str, items: list[Item]) -> dict[str, list[float]]:
    """Per item id, the cosines of its message to `answer_spans` of its hits (from the cache when there is one).
    As `SentenceSimilarity.cosines` measures them (the message as a query, the sentences as documents), with each
    distinct sentence of the set embedded once, in batches."""
    cache = RESULTS / f"abstention_sentences_{name}.json"
    if cache.exists():
        cosines: dict[str, list[float]] = json.loads(cache.read_text())
        if cosines.keys() == {item.id for item in items}:
            return cosines
    print(f"embedding the sentences of {name}'s top passages ...", flush=True)
    embedder = open_runtime(name).services().embedder
    if embedder is None:
        raise SystemExit(f"{name}: the runtime has no embedder")
    max_passages = AnswerSettings().max_passages
    spans = {item.id: answer_spans(item.hits, max_passages) for item in items}
    distinct = list(dict.fromkeys(span for item_spans in spans.values() for span in item_spans))
    rows = (
        np.concatenate(
            [
                np.asarray(embedder.embed_documents(distinct[start : start + 256]), dtype=np.float32)
                for start in range(0, len(distinct), 256)
            ]
        )
        if distinct
        else np.zeros((0, embedder.dimension), dtype=np.float32)
    )
    row_of = {span: row for span, row in zip(distinct, rows, strict=True)}
    cosines = {}
    for item in items:
        asked = np.asarray(embedder.embed_query(item.message), dtype=np.float32).reshape(-1)
        cosines[item.id] = [float(row_of[span] @ asked) for span in spans[item.id]]
    cache.write_text(json.dumps(cosines))
    return cosines


def title_index(name: str) -> TitleIndex:
    """The title index of the set's knowledge base (its live snapshot under benchmarks/results/kb/<name>)."""
    snapshot = SnapshotStore(RESULTS / "kb" / name / ".deskbot-index").current()
    if snapshot is None:
        raise SystemExit(f"{name}: no index under benchmarks/results/kb/{name}; run benchmarks/rewrite_recall.py")
    manifest = read_manifest(snapshot / MANIFEST)
    return TitleIndex.build({doc_id: row.title for doc_id, row in manifest.documents.items()}, manifest.chunks.values())
