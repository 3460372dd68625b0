"""`SiteReader`: one sync of a website source, a sitemap or a start page, as `KnowledgeWriter.sync_documents` reads it.

A sitemap source fetches every page the sitemap (and the sitemaps its index lists) names; a start-page source
walks same-site links breadth first, to `CrawlLimits.max_depth` links from the start and `max_pages` pages. Both ask
robots.txt before every page. A page the index holds is fetched conditionally with the validators the last sync
recorded: 304 keeps it as it is (one request, nothing downloaded). What is removed: pages answering 404 or 410,
pages robots.txt now disallows, and pages no longer listed (or, for a crawl, no longer reached). Pages are only taken
for gone when the listing is whole: a failed nested sitemap, a crawl cut by `max_pages` or a page that failed to
fetch (whose links are unknown) keeps the indexed pages that were not seen. A page that fails for any other reason
(timeout, 429/5xx after the retries, too large, not HTML) keeps its indexed copy and is counted in one summary line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from knowledge.documents import Document
from knowledge.errors import KnowledgeError, LoaderError
from knowledge.manifest import DocumentRow
from knowledge.reports import Progress, SyncReport
from knowledge.source_log import PageState, SourceRecord
from knowledge.web.extract import page_document
from knowledge.web.fetch import Fetched, FetchError, PageFetcher
from knowledge.web.links import normalise_url, page_links
from knowledge.web.robots import RobotsRules, read_robots
from knowledge.web.sitemap import read_sitemap

GONE_STATUSES = ("HTTP 404", "HTTP 410")


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 500
    max_depth: int = 3
    """Links followed from a start page (0: the start page alone); sitemaps are not limited by depth."""

    def __post_init__(self) -> None:
        if self.max_pages < 1 or self.max_depth < 0:
            raise KnowledgeError("crawl limits: max_pages must be at least 1 and max_depth at least 0")


def source_kind(url: str) -> str:
    """ "sitemap" for a URL whose path names a sitemap (`*.xml`, `*.xml.gz`, `.../sitemap...`), else "crawl"."""
    path = urlsplit(url).path.lower()
    return "sitemap" if path.endswith((".xml", ".xml.gz")) or "sitemap" in path.rpartition("/")[2] else "crawl"


class SiteReader:
    """Reads one web source; after the call, `pages` holds the validators and links to record for the next sync."""

    def __init__(
        self,
        url: str,
        fetcher: PageFetcher,
        limits: CrawlLimits | None = None,
        previous: SourceRecord | None = None,
        progress: Progress | None = None,
    ) -> None:
        source = normalise_url(url, url)
        if source is None:
            raise KnowledgeError(f"{url}: not an http(s) URL")
        self.source = source
        self.kind = source_kind(source)
        self.fetcher = fetcher
        self.limits = limits or CrawlLimits()
        self.pages: dict[str, PageState] = {}
        self._previous = previous.pages if previous is not None else {}
        self._progress = progress
        self._loaded: dict[str, tuple[Document, str]] = {}
        self._removed: set[str] = set()
        self._failures: Counter[str] = Counter()
        self._mine: set[str] = set()
        self._stored: Mapping[str, DocumentRow] = {}
        self._done = 0

    def __call__(
        self, stored: Mapping[str, DocumentRow], report: SyncReport
    ) -> tuple[dict[str, tuple[Document, str]], set[str]]:
        self._stored = stored
        self._mine = {doc_id for doc_id, row in stored.items() if row.origin == self.source}
        robots = read_robots(self.fetcher, self.source)
        if not robots.allows(self.source):
            raise KnowledgeError(f"{self.source}: robots.txt disallows it for Deskbot; nothing synced")
        if self.kind == "sitemap":
            self._read_sitemap(robots, report)
        else:
            self._crawl(robots, report)
        if self._failures:
            counts = ", ".join(f"{count} {reason}" for reason, count in self._failures.most_common())
            report.errors.append(
                f"{self.source}: {sum(self._failures.values())} pages not fetched ({counts}); "
                "their indexed copies are kept"
            )
        return self._loaded, self._removed

    def _read_sitemap(self, robots: RobotsRules, report: SyncReport) -> None:
        try:
            listing = read_sitemap(self.fetcher, self.source)
        except FetchError as error:
            raise KnowledgeError(f"{error}; the sitemap could not be read, nothing synced") from error
        report.errors.extend(listing.skipped)
        allowed = [url for url in listing.urls if robots.allows(url)]
        wanted = allowed[: self.limits.max_pages]
        if len(allowed) > len(wanted):
            report.errors.append(
                f"{self.source}: lists {len(allowed)} pages; synced the first {len(wanted)} (max_pages)"
            )
        self._fetch(wanted, report, total=len(wanted))
        listed = set(wanted) if len(allowed) == len(wanted) else set(allowed)
        if listing.complete:
            self._removed |= {doc_id for doc_id in self._mine if doc_id not in listed}

    def _crawl(self, robots: RobotsRules, report: SyncReport) -> None:
        seen = {self.source}
        level = [self.source]
        reached: set[str] = set()
        whole = True
        for depth in range(self.limits.max_depth + 1):
            room = self.limits.max_pages - len(reached)
            if len(level) > room:
                level, whole = level[:room], False
            links = self._fetch(level, report, total=len(reached) + len(level))
            reached.update(level)
            if depth == self.limits.max_depth:
                whole = whole and not any(link not in seen for link in links)
                break
            level = []
            for link in links:
                if link not in seen and robots.allows(link):
                    seen.add(link)
                    level.append(link)
            if not level:
                break
        if not whole:
            report.errors.append(
                f"{self.source}: the crawl stopped at {len(reached)} pages (max_pages {self.limits.max_pages}, "
                f"max_depth {self.limits.max_depth}); pages beyond it are not pruned"
            )
        elif not self._failures:
            self._removed |= {doc_id for doc_id in self._mine if doc_id not in reached}

    def _fetch(self, urls: list[str], report: SyncReport, total: int) -> list[str]:
        """Fetch `urls` and record what each answered; returns the same-site links of the pages, in order."""
        requests = []
        for url in urls:
            state = self._previous.get(url) if url in self._mine else None
            requests.append((url, state.etag if state else None, state.last_modified if state else None))
        links: dict[str, None] = {}
        for url, answer in self.fetcher.fetch_all(requests, html_only=True):
            self._done += 1
            if self._progress:
                self._progress("fetching", self._done, max(total, self._done))
            if isinstance(answer, FetchError):
                self._failed(url, answer)
                continue
            links.update(dict.fromkeys(self._take(url, answer, report)))
        return list(links)

    def _failed(self, url: str, error: FetchError) -> None:
        if error.reason in GONE_STATUSES:
            if url in self._stored:
                self._removed.add(url)
            return
        self._failures[error.reason] += 1
        if url in self._previous:
            self.pages[url] = self._previous[url]

    def _take(self, url: str, answer: Fetched, report: SyncReport) -> Iterable[str]:
        """Record one answer (unchanged, a new or changed page, or a page to skip); returns its links."""
        if answer.not_modified:
            state = self._previous.get(url)
            if state is None:
                self._failures["answered 304 to an unconditional request"] += 1
                return ()
            report.unchanged += 1
            self.pages[url] = state
            return state.links
        html = answer.text()
        links = tuple(page_links(html, answer.final_url)) if self.kind == "crawl" else ()
        self.pages[url] = PageState(answer.etag, answer.last_modified, links)
        try:
            self._loaded[url] = (page_document(url, answer.final_url, html), self.source)
        except LoaderError as error:
            report.errors.append(str(error))
            if url in self._mine:
                self._removed.add(url)
        return links
