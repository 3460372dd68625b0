"""Sitemaps: urlsets, sitemap indexes (nested, looping, failing), gzip, and what is not a sitemap."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from knowledge.errors import KnowledgeError
from knowledge.web.fetch import FetchPolicy, PageFetcher
from knowledge.web.sitemap import parse_sitemap, read_sitemap
from tests.knowledge.help_site import HelpSite, status

FAST = FetchPolicy(rate=200, concurrency=2, timeout_s=5, backoff_s=0.01, retries=1)
URLSET = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>'
INDEX = '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</sitemapindex>'


def urls(*locations: str) -> str:
    return URLSET.format("".join(f"<url><loc>{loc}</loc></url>" for loc in locations))


def sitemaps(*locations: str) -> str:
    return INDEX.format("".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locations))


@pytest.fixture
def site() -> Iterator[HelpSite]:
    server = HelpSite().start()
    yield server
    server.stop()


def read(site: HelpSite, path: str) -> object:
    with PageFetcher(FAST) as fetcher:
        return read_sitemap(fetcher, site.url(path))


def test_a_sitemap_index_lists_the_pages_of_its_sitemaps_on_the_same_host(site: HelpSite) -> None:
    pages = read(site, "/sitemap_index.xml")
    assert pages.urls == [
        site.url(path)
        for path in (
            "/articles/reset-password.html",
            "/articles/refunds.html",
            "/articles/sign-in.html",
            "/internal/drafts.html",
            "/sections/account.html",
            "/sections/billing.html",
        )
    ]
    assert pages.skipped == [f"https://elsewhere.example.org/partner.html: not on {site.base[7:]}"]
    assert pages.complete


def test_a_gzipped_sitemap_is_unpacked(site: HelpSite) -> None:
    site.put("/sitemap.xml.gz", gzip.compress(urls(site.url("/a.html")).encode()), "application/gzip")
    assert read(site, "/sitemap.xml.gz").urls == [site.url("/a.html")]


def test_invalid_xml_is_refused_with_the_parser_message(site: HelpSite) -> None:
    site.put("/broken.xml", "<urlset><url><loc>x</loc></url>", "application/xml")
    with pytest.raises(KnowledgeError, match=r"broken.xml: not a sitemap: invalid XML \(no element found"):
        read(site, "/broken.xml")


def test_an_html_page_is_not_a_sitemap(site: HelpSite) -> None:
    with pytest.raises(KnowledgeError, match=r"index.html: not a sitemap: it answered an HTML page \(text/html\)"):
        read(site, "/index.html")


def test_a_failing_nested_sitemap_makes_the_listing_incomplete(site: HelpSite) -> None:
    site.put("/good.xml", urls(site.url("/a.html")), "application/xml")
    site.route("/down.xml", status(503))
    site.put(
        "/index.xml", sitemaps(site.url("/good.xml"), site.url("/down.xml"), site.url("/gone.xml")), "application/xml"
    )
    pages = read(site, "/index.xml")
    assert pages.urls == [site.url("/a.html")]
    assert not pages.complete
    assert any("down.xml: HTTP 503" in line for line in pages.skipped)
    assert any("gone.xml: HTTP 404" in line for line in pages.skipped)


def test_an_index_that_lists_itself_is_read_once(site: HelpSite) -> None:
    site.put("/loop.xml", sitemaps(site.url("/loop.xml"), site.url("/leaf.xml")), "application/xml")
    site.put("/leaf.xml", urls(site.url("/a.html"), site.url("/a.html#top")), "application/xml")
    assert read(site, "/loop.xml").urls == [site.url("/a.html")]
    assert site.paths_requested() == ["/loop.xml", "/leaf.xml"]


def test_indexes_nested_too_deep_are_not_followed(site: HelpSite) -> None:
    for level in range(1, 5):
        site.put(f"/level{level}.xml", sitemaps(site.url(f"/level{level + 1}.xml")), "application/xml")
    site.put("/level5.xml", urls(site.url("/deep.html")), "application/xml")
    pages = read(site, "/level1.xml")
    assert pages.urls == []
    assert any("nested deeper than 3 levels" in line for line in pages.skipped)


def test_parse_sitemap_reads_both_kinds_without_a_namespace() -> None:
    assert parse_sitemap("s", b"<urlset><url><loc> https://h/a </loc></url></urlset>", 1000) == (
        "urlset",
        ["https://h/a"],
    )
    assert parse_sitemap("s", b"<sitemapindex><sitemap><loc>https://h/s.xml</loc></sitemap></sitemapindex>", 1000) == (
        "sitemapindex",
        ["https://h/s.xml"],
    )


def test_an_xml_document_of_another_kind_is_not_a_sitemap() -> None:
    with pytest.raises(KnowledgeError, match="the root element is <rss>, not <urlset> or <sitemapindex>"):
        parse_sitemap("feed.xml", b"<rss><channel/></rss>", 1000)


def test_a_gzip_bomb_is_stopped_at_the_size_limit() -> None:
    bomb = gzip.compress(urls(*["https://h/" + "a" * 100] * 20_000).encode())
    with pytest.raises(KnowledgeError, match="over the 100000-byte limit"):
        parse_sitemap("s", bomb, 100_000)
