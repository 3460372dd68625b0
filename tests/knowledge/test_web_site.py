"""Syncing a help-centre website into a real knowledge base: sitemap and crawl, 304s, pruning, failures kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders import HashEmbedder
from knowledge.errors import KnowledgeError
from knowledge.reports import SyncReport
from knowledge.retrievers.dense import DenseRetriever
from knowledge.source_log import SourceLog
from knowledge.web.fetch import FetchPolicy
from knowledge.web.site import CrawlLimits, source_kind
from knowledge.web.sync import sync_site
from tests.knowledge.help_site import HelpSite, redirect_to, status

FAST = FetchPolicy(rate=500, concurrency=4, timeout_s=5, backoff_s=0.01, retries=2)
ARTICLES = ("/articles/reset-password.html", "/articles/refunds.html", "/articles/sign-in.html")
SECTIONS = ("/sections/account.html", "/sections/billing.html")


@pytest.fixture
def site() -> Iterator[HelpSite]:
    server = HelpSite().start()
    yield server
    server.stop()


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(tmp_path / "index", HashEmbedder())


def sync(kb: KnowledgeBase, site: HelpSite, path: str = "/sitemap_index.xml", **limits: int) -> SyncReport:
    return sync_site(kb.writer, site.url(path), FAST, CrawlLimits(**limits) if limits else None)


def page_requests(site: HelpSite, since: int = 0) -> list[tuple[str, int]]:
    return [(path, code) for path, code, _ in site.requests[since:] if path.endswith(".html") or path == "/"]


def test_a_sitemap_sync_indexes_every_allowed_page_with_its_url_as_source(site: HelpSite, kb: KnowledgeBase) -> None:
    report = sync(kb, site)
    assert (report.added, report.removed) == (5, 0)
    assert sorted(kb.store.document_ids) == sorted(site.url(path) for path in ARTICLES + SECTIONS)
    chunks = kb.store.chunks()
    assert {chunk.source for chunk in chunks} == {site.url(path) for path in ARTICLES + SECTIONS}
    refunds = {chunk.section: chunk.text for chunk in chunks if chunk.document_id == site.url("/articles/refunds.html")}
    assert set(refunds) == {"", "Refund amounts by plan", "How to ask for a refund"}
    assert "| Pro annual | 30 days | 5 business days |" in refunds["Refund amounts by plan"]
    every_text = "\n".join(chunk.text for chunk in chunks)
    for chrome in ("All rights reserved", "Related articles", "Acme Help Center", "Home"):
        assert chrome not in every_text
    [hit] = DenseRetriever(kb.store).retrieve("enterprise refund processing time in business days", 1)
    assert hit.chunk.source == site.url("/articles/refunds.html")
    assert kb.store.document(site.url("/articles/refunds.html")).title == "Refunds"  # type: ignore[union-attr]


def test_robots_txt_rules_keep_disallowed_pages_out(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    assert site.url("/internal/drafts.html") not in kb.store.document_ids
    assert "/internal/drafts.html" not in site.paths_requested()


def test_an_unchanged_site_costs_one_request_per_page_and_embeds_nothing(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    before = len(site.requests)
    report = sync(kb, site)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert report.chunks_embedded == 0
    assert sorted(page_requests(site, before)) == sorted((path, 304) for path in ARTICLES + SECTIONS)
    assert len(site.requests) - before == 5 + 4  # the pages, robots.txt and the three sitemaps


def test_a_changed_page_is_updated_and_the_rest_answer_304(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    changed = site.pages["/articles/refunds.html"][0].decode().replace("30 days of purchase", "45 days of purchase")
    site.put("/articles/refunds.html", changed)
    before = len(site.requests)
    report = sync(kb, site)
    assert (report.updated, report.unchanged) == (1, 4)
    assert ("/articles/refunds.html", 200) in page_requests(site, before)
    [hit] = DenseRetriever(kb.store).retrieve("refunded in full within 45 days of purchase", 1)
    assert "45 days" in hit.chunk.text


def test_pages_gone_from_the_sitemap_or_answering_404_or_410_are_pruned_and_never_served(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    sync(kb, site)
    articles = site.pages["/sitemaps/articles.xml"][0].decode()
    site.put("/sitemaps/articles.xml", articles.replace(site.url("/articles/sign-in.html"), ""), "application/xml")
    site.gone("/articles/refunds.html")
    site.delete("/sections/billing.html")
    report = sync(kb, site)
    assert report.removed == 3
    assert sorted(kb.store.document_ids) == [site.url("/articles/reset-password.html"), site.url(SECTIONS[0])]
    hits = DenseRetriever(kb.store).retrieve("single sign-on refunds invoices billing", 10)
    assert {hit.chunk.document_id for hit in hits} <= set(kb.store.document_ids)
    assert report.errors == [f"https://elsewhere.example.org/partner.html: not on {site.base[7:]}"]


def test_pages_that_fail_keep_their_indexed_copies_and_are_summed_up_in_one_line(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    sync(kb, site)
    site.route("/articles/refunds.html", status(503))
    site.route("/articles/sign-in.html", status(429, {"Retry-After": "0"}))
    site.put("/sections/billing.html", b"%PDF-1.7 ...", "application/pdf")
    report = sync(kb, site)
    assert report.removed == 0 and len(kb.store.document_ids) == 5
    assert report.errors[-1] == (
        f"{site.url('/sitemap_index.xml')}: 3 pages not fetched (1 HTTP 503 after 2 tries, 1 HTTP 429 after 2 tries, "
        "1 not HTML (application/pdf)); their indexed copies are kept"
    )
    assert site.paths_requested().count("/articles/refunds.html") == 1 + 2


def test_a_redirect_loop_or_a_redirect_to_another_site_is_a_failure_not_a_page(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    site.route("/articles/sign-in.html", redirect_to("/articles/sign-in.html"))
    site.route("/articles/refunds.html", redirect_to("https://elsewhere.example.org/"))
    report = sync(kb, site)
    assert report.added == 3
    assert "1 redirect loop" in report.errors[-1] and "1 redirected to another site" in report.errors[-1]


def test_an_unreadable_sitemap_changes_nothing(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    site.put("/sitemap_index.xml", "<sitemapindex><sitemap>", "application/xml")
    with pytest.raises(KnowledgeError, match="invalid XML"):
        sync(kb, site)
    site.delete("/sitemap_index.xml")
    with pytest.raises(KnowledgeError, match="HTTP 404; the sitemap could not be read, nothing synced"):
        sync(kb, site)
    assert len(kb.store.document_ids) == 5


def test_an_unreachable_robots_txt_stops_the_sync_and_a_missing_one_allows_all(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    site.route("/robots.txt", status(500))
    with pytest.raises(KnowledgeError, match=r"robots.txt cannot be read \(HTTP 500 after 2 tries\)"):
        sync(kb, site)
    assert kb.store.document_ids == []
    site.routes.clear()
    site.delete("/robots.txt")
    sync(kb, site)
    assert site.url("/internal/drafts.html") in kb.store.document_ids


def test_a_sitemap_longer_than_max_pages_is_synced_in_part_without_pruning_the_rest(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    sync(kb, site)
    report = sync(kb, site, max_pages=2)
    assert report.removed == 0 and report.unchanged == 2
    assert report.errors[-1] == f"{site.url('/sitemap_index.xml')}: lists 5 pages; synced the first 2 (max_pages)"


def test_a_crawl_follows_same_site_links_within_depth_and_robots(site: HelpSite, kb: KnowledgeBase) -> None:
    report = sync(kb, site, "/")
    assert sorted(kb.store.document_ids) == sorted(site.url(path) for path in ("/", *ARTICLES, *SECTIONS))
    assert report.errors == []
    requested = site.paths_requested()
    assert "/internal/drafts.html" not in requested and "/files/price-list.pdf" not in requested
    assert requested.count("/sections/billing.html") == 1  # linked as billing.html#top and billing.html


def test_a_crawl_stops_at_its_limits_and_then_prunes_nothing(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site, "/")
    report = sync(kb, site, "/", max_depth=1)
    assert sorted(kb.store.document_ids) == sorted(site.url(path) for path in ("/", *ARTICLES, *SECTIONS))
    assert report.removed == 0 and report.unchanged == 3
    assert "the crawl stopped at 3 pages (max_pages 500, max_depth 1)" in report.errors[-1]
    report = sync(kb, site, "/", max_pages=2)
    assert report.unchanged == 2 and "the crawl stopped at 2 pages" in report.errors[-1]


def test_a_crawl_of_an_unchanged_site_walks_past_304s_with_the_recorded_links(
    site: HelpSite, kb: KnowledgeBase
) -> None:
    sync(kb, site, "/")
    before = len(site.requests)
    report = sync(kb, site, "/")
    assert report.unchanged == 6 and report.chunks_embedded == 0
    assert {code for _, code in page_requests(site, before)} == {304, 404}  # /privacy.html is linked but missing


def test_a_crawl_prunes_pages_no_longer_linked_or_gone(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site, "/")
    account = site.pages["/sections/account.html"][0].decode()
    site.put("/sections/account.html", account.replace('href="/articles/sign-in.html"', 'href="/"'))
    site.delete("/articles/reset-password.html")
    report = sync(kb, site, "/")
    assert report.removed == 2
    assert site.url("/articles/sign-in.html") not in kb.store.document_ids
    assert site.url("/articles/reset-password.html") not in kb.store.document_ids


def test_the_source_log_records_each_page_validators_and_the_last_sync(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    [record] = SourceLog(kb.directory).read().values()
    assert record.kind == "sitemap" and record.result["added"] == 5
    assert all(page.etag for page in record.pages.values()) and len(record.pages) == 5
    raw = json.loads((kb.directory / "sources.json").read_text())
    assert list(raw["sources"]) == [site.url("/sitemap_index.xml")]


def test_a_damaged_source_log_only_costs_full_downloads(site: HelpSite, kb: KnowledgeBase) -> None:
    sync(kb, site)
    (kb.directory / "sources.json").write_text("{not json")
    before = len(site.requests)
    report = sync(kb, site)
    assert report.unchanged == 5 and report.chunks_embedded == 0
    assert {code for _, code in page_requests(site, before)} == {200}


def test_urls_name_their_kind() -> None:
    assert source_kind("https://h/sitemap.xml") == "sitemap"
    assert source_kind("https://h/sitemap_index.xml.gz") == "sitemap"
    assert source_kind("https://h/sitemap") == "sitemap"
    assert source_kind("https://h/hc/en-us") == "crawl"


def test_not_a_web_address_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(KnowledgeError, match="not an http"):
        sync_site(kb.writer, "ftp://h/sitemap.xml", FAST)


def test_a_page_whose_id_another_source_holds_is_refused_not_replaced(site: HelpSite, kb: KnowledgeBase) -> None:
    refunds = site.url("/articles/refunds.html")
    kb.writer.add_documents([Document(id=refunds, title="Refunds (curated)", text="Refunds take 3 days.")])
    report = sync(kb, site)
    assert report.added == 4
    assert any(f"'{refunds}' already belongs to api" in error for error in report.errors), report.errors
    assert kb.store.document(refunds).title == "Refunds (curated)"  # type: ignore[union-attr]
