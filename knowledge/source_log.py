"""`SourceLog`: what feeds a knowledge base (folders, files, sitemaps, crawled sites) and how each last synced.

It is `sources.json` beside the snapshots, replaced atomically after each sync under the folder's lock. For a web
source it also keeps each page's validators (ETag, Last-Modified) and, for a crawl, its same-site links, so the
next sync can ask "changed since?" and still walk past an unchanged page. The log is written only after the
snapshot it describes is live, so it can lag the index but never lead it: a lost or stale log costs full
downloads on the next sync, never a page wrongly taken as unchanged (validators are only sent for pages the index
holds). A damaged log is logged and read as empty for the same reason.

Which documents belong to which source is read from the index (a document's `origin`: the URL of its web source, or
its file's path below a folder source), so counts are always those of the live snapshot.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knowledge.manifest import DocumentRow
from knowledge.reports import SyncReport

log = logging.getLogger(__name__)

LOG_FILE = "sources.json"


@dataclass(frozen=True)
class PageState:
    etag: str | None = None
    last_modified: str | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceRecord:
    source: str
    """A resolved file or folder path, or a sitemap or start-page URL."""
    kind: str
    """"files", "sitemap" or "crawl"."""
    last_sync: str
    result: Mapping[str, Any] = field(default_factory=dict)
    """The last sync's counts: added, updated, removed, unchanged, errors."""
    pages: Mapping[str, PageState] = field(default_factory=dict)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sync_result(report: SyncReport) -> dict[str, int]:
    """The counts a `SourceRecord` keeps of one sync."""
    return {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "errors": len(report.errors),
    }


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def belongs_to(row: DocumentRow, source: str) -> bool:
    """True when the stored document `row` was read from `source`."""
    if is_url(source):
        return row.origin == source
    return row.origin == source or row.origin.startswith(source.rstrip("/") + "/")


class SourceLog:
    def __init__(self, directory: Path) -> None:
        self.path = directory / LOG_FILE

    def read(self) -> dict[str, SourceRecord]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                source: SourceRecord(
                    source=source,
                    kind=str(entry["kind"]),
                    last_sync=str(entry["last_sync"]),
                    result=dict(entry.get("result") or {}),
                    pages={
                        url: PageState(page.get("etag"), page.get("last_modified"), tuple(page.get("links") or ()))
                        for url, page in (entry.get("pages") or {}).items()
                    },
                )
                for source, entry in raw["sources"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("%s is unreadable (%s); sources sync in full next time", self.path, error)
            return {}

    def record(self, record: SourceRecord) -> None:
        records = self.read()
        records[record.source] = record
        self._write(records)

    def forget(self, source: str) -> None:
        records = self.read()
        if records.pop(source, None) is not None:
            self._write(records)

    def _write(self, records: Mapping[str, SourceRecord]) -> None:
        payload = {"sources": {source: _entry(record) for source, record in sorted(records.items())}}
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)


def _entry(record: SourceRecord) -> dict[str, Any]:
    entry = asdict(record)
    del entry["source"]
    entry["pages"] = {
        url: {key: value for key, value in asdict(page).items() if value} for url, page in record.pages.items()
    }
    return entry


def documents_of(source: str, documents: Mapping[str, DocumentRow]) -> list[str]:
    """The ids of the stored documents read from `source`."""
    return sorted(doc_id for doc_id, row in documents.items() if belongs_to(row, source))


def source_table(records: Mapping[str, SourceRecord], documents: Mapping[str, DocumentRow]) -> list[dict[str, Any]]:
    """One row per logged source (kind, documents, chunks, last sync and its counts), then one for the documents no
    logged source holds (indexed before the log, or through the API) when there are any."""
    rows = []
    claimed: set[str] = set()
    for source, record in sorted(records.items()):
        ids = documents_of(source, documents)
        claimed.update(ids)
        rows.append(
            {
                "source": source,
                "kind": record.kind,
                "documents": len(ids),
                "chunks": sum(documents[doc_id].chunk_count for doc_id in ids),
                "last_sync": record.last_sync,
                "last_result": dict(record.result),
            }
        )
    unlogged = [doc_id for doc_id in documents if doc_id not in claimed]
    if unlogged:
        rows.append(
            {
                "source": "(not in the source log)",
                "kind": "other",
                "documents": len(unlogged),
                "chunks": sum(documents[doc_id].chunk_count for doc_id in unlogged),
                "last_sync": None,
                "last_result": {},
            }
        )
    return rows
