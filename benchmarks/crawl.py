"""Website sources: crawl speed on loopback, and retrieval on the same passages ingested as HTML pages vs jsonl.

    .venv/bin/python benchmarks/crawl.py [--data ../shared/data] [--limit N] [--questions N]

The passages of mtrag_cloud_govt (or the first `--limit`) are rendered as help-centre pages (site header,
breadcrumbs, sidebar and footer around an `<article>` holding the title as `<h1>` and each text line as a `<p>`),
listed in a sitemap and served by `StaticSite` on 127.0.0.1 with ETags. Three things are measured:

1. crawl: `sync_site` of the sitemap with no rate limit (4 connections) and the hashing embedder, so the numbers
   are fetching, extraction (trafilatura) and indexing, not the model: pages/s of a first sync, and of a re-sync
   in which every page answers 304;
2. retrieval: two MiniLM knowledge bases, one from the jsonl, one from the crawled pages; recall@5 and MRR@10 over
   the answerable dev questions whose relevant passages are all in the sample (last user turn as the query, hybrid
   retrieval, documents ranked by their best chunk); the page URL maps back to the passage id;
3. the cost of the polite default (2 requests/s) is stated, not run: pages / 2 seconds.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.evaluation.metrics import mrr_at_k, recall_at_k, unique_in_order
from bot.evaluation.questions import load_questions
from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders import HashEmbedder
from knowledge.embedders.base import Embedder
from knowledge.retrievers.hybrid import HybridRetriever
from knowledge.web.fetch import FetchPolicy
from knowledge.web.site import CrawlLimits
from knowledge.web.static_site import StaticSite
from knowledge.web.sync import sync_site

DATASET = "mtrag_cloud_govt"
PAGE_PREFIX = "/articles/"
CHROME_TOP = (
    '<header class="site-header"><a href="/">Cloud and Government Help</a><form action="/search"><input name="q">'
    '</form></header><nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/articles/">Articles</a></nav>'
)
CHROME_BOTTOM = (
    '<aside class="sidebar"><h3>Popular articles</h3><ul><li><a href="/">Getting started</a></li>'
    '<li><a href="/">Contact support</a></li></ul></aside>'
    "<footer>Was this article helpful? Yes / No. &copy; 2026 Example Help Center. All rights reserved.</footer>"
)


def page_path(doc_id: str) -> str:
    return f"{PAGE_PREFIX}{quote(doc_id, safe='')}.html"


def passage_id(url: str) -> str:
    return unquote(url.rpartition(PAGE_PREFIX)[2].removesuffix(".html"))


def render_page(document: dict[str, str]) -> str:
    """One passage as a help-centre page: its title as `<h1>`, each text line a paragraph, site chrome around."""
    lines = [line.strip() for line in document["text"].splitlines() if line.strip()]
    paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    title = html.escape(document.get("title") or "")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f"{CHROME_TOP}<main><article><h1>{title}</h1>\n{paragraphs}\n</article></main>{CHROME_BOTTOM}</body></html>"
    )


def sitemap(site: StaticSite, doc_ids: list[str]) -> str:
    entries = "".join(f"<url><loc>{site.url(page_path(doc_id))}</loc></url>" for doc_id in doc_ids)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'


def crawl_speed(site: StaticSite, pages: int) -> dict[str, float]:
    """Pages/s of a first sync and of a re-sync (all 304) with the hashing embedder and no rate limit."""
    policy = FetchPolicy(rate=10_000, concurrency=4)
    with tempfile.TemporaryDirectory() as folder:
        kb = KnowledgeBase(Path(folder), HashEmbedder())
        started = time.perf_counter()
        first = sync_site(kb.writer, site.url("/sitemap.xml"), policy, CrawlLimits(max_pages=pages))
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = sync_site(kb.writer, site.url("/sitemap.xml"), policy, CrawlLimits(max_pages=pages))
        again_s = time.perf_counter() - started
    assert first.added == pages and again.unchanged == pages, (first, again)
    return {"first_sync_pages_per_s": pages / first_s, "resync_304_pages_per_s": pages / again_s}


def minilm() -> Embedder:
    from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def ingest_jsonl(folder: Path, records: list[dict[str, str]]) -> tuple[KnowledgeBase, float]:
    kb = KnowledgeBase(folder, minilm())
    documents = [
        Document(id=r["id"], title=r.get("title", ""), text=r["text"], source=r.get("source", "")) for r in records
    ]
    started = time.perf_counter()
    kb.writer.add_documents(documents, origin="jsonl")
    return kb, time.perf_counter() - started


def ingest_site(folder: Path, site: StaticSite, pages: int) -> tuple[KnowledgeBase, float]:
    kb = KnowledgeBase(folder, minilm())
    started = time.perf_counter()
    policy = FetchPolicy(rate=10_000, concurrency=4)
    report = sync_site(kb.writer, site.url("/sitemap.xml"), policy, CrawlLimits(max_pages=pages))
    if report.errors:
        print("html ingest errors:", *report.errors[:5], sep="\n  ", file=sys.stderr)
    return kb, time.perf_counter() - started


def evaluate(kb: KnowledgeBase, questions: list[tuple[str, list[str]]], to_passage: bool) -> dict[str, float]:
    retriever = HybridRetriever(kb.store)
    recalls, mrrs = [], []
    for query, relevant in questions:
        hits = retriever.retrieve(query, 50)
        ids = [passage_id(h.chunk.document_id) if to_passage else h.chunk.document_id for h in hits]
        ranked = unique_in_order(ids)
        recalls.append(recall_at_k(ranked, relevant, 5))
        mrrs.append(mrr_at_k(ranked, relevant, 10))
    return {"recall@5": sum(recalls) / len(recalls), "mrr@10": sum(mrrs) / len(mrrs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="Passages to use (default: all).")
    parser.add_argument("--questions", type=int, default=None, help="Dev questions at most (default: all).")
    args = parser.parse_args()

    folder = args.data / DATASET
    records = [json.loads(line) for line in (folder / "kb" / "kb.jsonl").read_text().splitlines() if line.strip()]
    records = records[: args.limit] if args.limit else records
    known = {record["id"] for record in records}
    questions = [
        (q.question, list(q.relevant_ids))
        for q in load_questions(folder / "dev.jsonl")
        if q.answerable and q.relevant_ids and set(q.relevant_ids) <= known
    ][: args.questions]

    with StaticSite() as site, tempfile.TemporaryDirectory() as work:
        for record in records:
            site.put(page_path(record["id"]), render_page(record))
        site.put("/sitemap.xml", sitemap(site, [record["id"] for record in records]), "application/xml")
        speed = crawl_speed(site, len(records))
        jsonl_kb, jsonl_s = ingest_jsonl(Path(work) / "jsonl", records)
        html_kb, html_s = ingest_site(Path(work) / "html", site, len(records))
        html_ids = {passage_id(doc_id) for doc_id in html_kb.store.document_ids}
        results = {
            "passages": len(records),
            "questions": len(questions),
            "pages_indexed": len(html_ids & known),
            **{key: round(value, 1) for key, value in speed.items()},
            "polite_default_minutes": round(len(records) / 2 / 60, 1),
            "jsonl": {**evaluate(jsonl_kb, questions, to_passage=False), "ingest_s": jsonl_s},
            "html": {**evaluate(html_kb, questions, to_passage=True), "ingest_s": html_s},
            "chunks": {"jsonl": jsonl_kb.store.chunk_count, "html": html_kb.store.chunk_count},
        }
    print(json.dumps(results, indent=1))
    print("\n| path | recall@5 | MRR@10 | ingest s | chunks |\n|---|---|---|---|---|")
    for path in ("jsonl", "html"):
        row = results[path]
        print(
            f"| {path} | {row['recall@5']:.3f} | {row['mrr@10']:.3f} | {row['ingest_s']:.0f} "
            f"| {results['chunks'][path]} |"
        )


if __name__ == "__main__":
    main()
