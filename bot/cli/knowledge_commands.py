"""`deskbot ingest` and `deskbot kb ...`: manage the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli.console import err, out, progress_bar
from bot.cli.groups import kb_app
from bot.cli.main import KbOption, fail, runtime


def _print_report(report: object, as_json: bool) -> None:
    from dataclasses import asdict

    data = asdict(report)  # type: ignore[call-overload]
    if as_json:
        out.print_json(json.dumps(data))
        return
    counts = ", ".join(f"{data[key]} {key}" for key in ("added", "updated", "removed", "unchanged"))
    embedded = f"{data['chunks_embedded']} chunks embedded ({data['chunks_reused']} reused)"
    err.print(f"documents: {counts}; {embedded} in {data['seconds']:.1f}s")
    for duplicate in data["duplicates"]:
        err.print(f"[yellow]duplicate left out:[/] {escape(duplicate)}", highlight=False)
    for error in data["errors"]:
        err.print(f"[yellow]skipped:[/] {escape(error)}", highlight=False)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to add or update.")],
    kb: KbOption = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose source file is gone.")] = False,
    dedupe: Annotated[
        bool, typer.Option("--dedupe", help="Leave out exact and near-duplicate documents (first one kept).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Add or update documents (md, txt, html, pdf, csv, jsonl); unchanged files are skipped."""
    for path in paths:
        if not path.exists():
            fail(f"{path}: no such file or folder")
    if kb is not None:
        kb.mkdir(parents=True, exist_ok=True)
    rt = runtime(kb)
    rt.embedder(sources=paths)  # `embedder = "auto"` looks at the documents about to be ingested too
    knowledge = rt.knowledge(sync=False)
    with progress_bar() as update:
        report = knowledge.writer.sync(paths, prune=prune, progress=update, deduplicate=dedupe)  # type: ignore[arg-type]
    _print_report(report, as_json)
    if report.errors and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


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
    err.print(
        f"rebuilt {report.documents} documents from {report.rebuilt_from}: "
        f"{report.chunks_embedded} chunks embedded{reused} in {report.seconds:.1f}s",
        highlight=False,
        markup=False,
    )
    for error in report.errors:
        err.print(f"[yellow]skipped:[/] {escape(error)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
