"""`deskbot ingest` and `deskbot kb ...`: manage the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from bot.cli.console import err, out, progress_bar
from bot.cli.groups import kb_app
from bot.cli.main import KbOption, fail, runtime
from knowledge.errors import DeskbotError
from knowledge.reports import Progress, SyncReport

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from knowledge.writer import KnowledgeWriter


def _print_report(report: object, as_json: bool) -> None:
    from dataclasses import asdict

    data = asdict(report)  # type: ignore[call-overload]
    if as_json:
        out.print_json(json.dumps(data))
        return
    counts = ", ".join(f"{data[key]} {key}" for key in ("added", "updated", "removed", "unchanged"))
    embedded = f"{data['chunks_embedded']} chunks embedded ({data['chunks_reused']} reused)"
    embedded += f", {data['sentences_embedded']} sentences" if data["sentences_embedded"] else ""
    err.print(f"documents: {counts}; {embedded} in {data['seconds']:.1f}s")
    for duplicate in data["duplicates"]:
        err.print(f"[yellow]duplicate left out:[/] {escape(duplicate)}", highlight=False)
    for error in data["errors"]:
        err.print(f"[yellow]skipped:[/] {escape(error)}", highlight=False)


def ingest(
    sources: Annotated[
        list[str], typer.Argument(help="Files or folders, or URLs of a sitemap or a start page, to add or update.")
    ],
    kb: KbOption = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose source file is gone.")] = False,
    dedupe: Annotated[
        bool, typer.Option("--dedupe", help="Leave out exact and near-duplicate documents (first one kept).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep syncing the files and folders as they change (Ctrl-C stops).")
    ] = False,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="Pages at most per URL.")] = 500,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Links followed from a start page.")] = 3,
    rate: Annotated[float, typer.Option("--rate", min=0.01, help="Requests per second at most, per site.")] = 2.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=16, help="Requests at once.")] = 2,
) -> None:
    """Add or update documents (md, txt, html, pdf, csv, jsonl, office files, help-desk exports, web pages).

    A URL is a sitemap when its path ends in .xml or .xml.gz (or names a sitemap), else a start page whose
    same-site links are crawled; unchanged pages cost one conditional request. Unchanged files are skipped.
    """
    from knowledge.source_log import SourceLog, SourceRecord, is_url, now, sync_result

    urls = [source for source in sources if is_url(source)]
    paths = [Path(source) for source in sources if not is_url(source)]
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or folder")
    if watch and urls:
        fail("--watch follows files and folders; sync URLs on a schedule instead (see docs/knowledge.md, Sources)")
    if kb is not None:
        kb.mkdir(parents=True, exist_ok=True)
    rt = runtime(kb)
    rt.embedder(sources=paths)  # `embedder = "auto"` looks at the documents about to be ingested too
    knowledge = rt.knowledge(sync=False)
    log = SourceLog(knowledge.store.directory)
    reports: list[SyncReport] = []
    failed: list[str] = []
    with progress_bar() as update:
        if paths:
            report = knowledge.writer.sync(paths, prune=prune, progress=update, deduplicate=dedupe)  # type: ignore[arg-type]
            for path in paths:
                log.record(SourceRecord(str(path.resolve()), "files", now(), sync_result(report)))
            reports.append(report)
        for url in urls:
            try:
                reports.append(_sync_url(knowledge.writer, url, max_pages, depth, rate, concurrency, update))  # type: ignore[arg-type]
            except DeskbotError as error:
                failed.append(str(error))
    report = _combined(reports, failed if as_json else [])
    _print_report(report, as_json)
    if not as_json:
        for failure in failed:
            err.print(f"[bold red]error:[/] {failure}", highlight=False)
    if failed or (report.errors and not (report.added or report.updated or report.unchanged)):
        raise typer.Exit(1)
    if watch:
        _watch(knowledge.writer, paths, dedupe, as_json)


def _sync_url(
    writer: KnowledgeWriter, url: str, max_pages: int, depth: int, rate: float, concurrency: int, progress: Progress
) -> SyncReport:
    from knowledge.web.fetch import FetchPolicy
    from knowledge.web.site import CrawlLimits
    from knowledge.web.sync import sync_site

    policy = FetchPolicy(rate=rate, concurrency=concurrency)
    return sync_site(writer, url, policy, CrawlLimits(max_pages=max_pages, max_depth=depth), progress)


def _combined(reports: list[SyncReport], failed: list[str]) -> SyncReport:
    """One report for several sources: counts added up, every source's errors (and `failed` sources) listed."""
    total = SyncReport(errors=list(failed))
    for report in reports:
        for name in ("added", "updated", "removed", "unchanged", "chunks_embedded", "chunks_reused", "seconds"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.duplicates.extend(report.duplicates)
        total.errors.extend(report.errors)
    return total


def _watch(writer: KnowledgeWriter, paths: list[Path], dedupe: bool, as_json: bool) -> None:
    from knowledge.watch import watch_and_sync

    err.print(f"watching {', '.join(str(path) for path in paths)} for changes (Ctrl-C stops)")
    watch_and_sync(writer, paths, lambda report: _print_report(report, as_json), deduplicate=dedupe)


@kb_app.command("sources")
def sources_command(
    kb: KbOption = None,
    remove: Annotated[
        str | None, typer.Option("--remove", help="Remove a source (path or URL) and every document read from it.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What feeds the knowledge base: each folder, file, sitemap or site, with counts and its last sync."""
    from knowledge.source_log import SourceLog, documents_of, is_url, source_table

    knowledge = runtime(kb).knowledge(sync=False)
    log = SourceLog(knowledge.store.directory)
    if remove is not None:
        source = remove if is_url(remove) else str(Path(remove).expanduser().resolve())
        doc_ids = documents_of(source, knowledge.store.documents())
        if not doc_ids and source not in log.read():
            fail(f"{remove}: no such source (`deskbot kb sources` lists them)")
        report = knowledge.writer.remove(doc_ids) if doc_ids else SyncReport()
        log.forget(source)
        err.print(f"removed source {source} and its {report.removed} documents")
        return
    rows = source_table(log.read(), knowledge.store.documents())
    if as_json:
        out.print_json(json.dumps({"sources": rows}))
        return
    if not rows:
        err.print("no sources: the knowledge base is empty (`deskbot ingest PATH|URL`)")
    for row in rows:
        result = row["last_result"]
        counts = ", ".join(f"{result[key]} {key}" for key in ("added", "updated", "removed", "unchanged", "errors"))
        synced = f"last sync {row['last_sync']} ({counts})" if row["last_sync"] else "never synced through ingest"
        line = f"{row['source']}  [{row['kind']}] {row['documents']} documents, {row['chunks']} chunks; {synced}"
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@kb_app.command("stats")
def stats(kb: KbOption = None) -> None:
    """Documents (and per detected language), chunks, embedder and index type of the knowledge base."""
    out.print_json(json.dumps(runtime(kb).knowledge().store.stats()))


@kb_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to search for.")],
    kb: KbOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100)] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the passages retrieval finds for QUERY, with scores."""
    hits = runtime(kb).retriever().retrieve(query, k)
    if as_json:
        rows = [
            {
                "id": h.chunk.document_id,
                "chunk": h.chunk.id,
                "title": h.chunk.title,
                "score": round(h.score, 4),
                "lexical_score": None if h.lexical_score is None else round(h.lexical_score, 4),
                "fused_score": None if h.fused_score is None else round(h.fused_score, 5),
            }
            for h in hits
        ]
        out.print_json(json.dumps({"query": query, "hits": rows}))
        return
    for rank, hit in enumerate(hits, start=1):
        out.print(f"{rank}. [{hit.score:.3f}] {hit.chunk.document_id} - {hit.chunk.title}", markup=False)
        out.print(f"   {hit.chunk.text[:200].replace(chr(10), ' ')}", markup=False)


@kb_app.command("remove")
def remove(doc_id: Annotated[str, typer.Argument(help="Document id to remove.")], kb: KbOption = None) -> None:
    """Remove a document; it is never retrieved again (unless ingested again)."""
    report = runtime(kb).knowledge(sync=False).writer.remove([doc_id])
    err.print(f"removed {report.removed} document")


@kb_app.command("rebuild")
def rebuild(kb: KbOption = None) -> None:
    """Write a fresh index with the configured embedder, from the manifest (else the documents folder)."""
    rt = runtime(kb)
    knowledge = rt.knowledge(sync=False, load=False)
    folder = rt.documents_folder()
    with progress_bar() as update:
        report = knowledge.writer.rebuild(progress=update, sources=[folder] if folder.is_dir() else [])  # type: ignore[arg-type]
    reused = f", {report.chunks_reused} vectors reused" if report.chunks_reused else ""
    sentences = f", {report.sentences_embedded} sentences embedded" if report.sentences_embedded else ""
    err.print(
        f"rebuilt {report.documents} documents from {report.rebuilt_from}: "
        f"{report.chunks_embedded} chunks embedded{reused}{sentences} in {report.seconds:.1f}s",
        highlight=False,
        markup=False,
    )
    for error in report.errors:
        err.print(f"[yellow]skipped:[/] {escape(error)}", highlight=False)
    restore_curated_answers(rt, knowledge.writer)


def restore_curated_answers(rt: Runtime, writer: KnowledgeWriter) -> None:
    """After a rebuild: the curated answers of the store back in the index (`bot.curation`), with one line."""
    from bot.curation import CuratedKnowledge
    from bot.store.curated_answers import CuratedAnswers
    from bot.store.database import StoreError

    try:
        synced = CuratedKnowledge(CuratedAnswers(rt.database()), writer).sync()
    except StoreError as error:
        err.print(f"[yellow]curated answers not restored:[/] {escape(str(error))}", highlight=False)
        return
    if synced.added:
        err.print(f"restored {synced.added} curated answers from the store", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
