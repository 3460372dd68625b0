"""`sync_site`: bring a knowledge base up to date with one website source, and log the sync."""

from __future__ import annotations

from knowledge.reports import Progress, SyncReport
from knowledge.source_log import SourceLog, SourceRecord, now, sync_result
from knowledge.web.fetch import FetchPolicy, PageFetcher
from knowledge.web.links import normalise_url
from knowledge.web.site import CrawlLimits, SiteReader
from knowledge.writer import KnowledgeWriter


def sync_site(
    writer: KnowledgeWriter,
    url: str,
    policy: FetchPolicy | None = None,
    limits: CrawlLimits | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Sync the sitemap or start page at `url` into `writer`'s knowledge base; see `knowledge.web.site`."""
    log = SourceLog(writer.store.directory)
    source = normalise_url(url, url) or url
    with PageFetcher(policy) as fetcher:
        reader = SiteReader(source, fetcher, limits, log.read().get(source), progress)
        report = writer.sync_documents(reader, progress)
    log.record(SourceRecord(reader.source, reader.kind, now(), sync_result(report), reader.pages))
    return report
