"""Sitemaps (sitemaps.org): a `<urlset>` lists pages, a `<sitemapindex>` lists more sitemaps; gzip is unpacked.

`read_sitemap` follows an index down to `MAX_DEPTH` levels, each sitemap once, and keeps only pages on the
sitemap's own host (as the protocol requires). Anything that is not a sitemap (invalid XML, an HTML page, another
root element) is a `KnowledgeError` naming the URL and what was found instead; a nested sitemap that fails marks
the listing incomplete, so that the pages it would have listed are not taken for gone.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree

from knowledge.errors import KnowledgeError
from knowledge.web.fetch import FetchError, PageFetcher
from knowledge.web.links import normalise_url

MAX_DEPTH = 3


@dataclass
class SitemapPages:
    urls: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why some listed entries were left out (other hosts, unreadable nested sitemaps)."""
    complete: bool = True
    """False when a nested sitemap could not be read: pages missing from `urls` may still be on the site."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_sitemap(url: str, body: bytes, max_bytes: int) -> tuple[str, list[str]]:
    """("urlset" or "sitemapindex", the `<loc>` URLs) of one sitemap document."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise KnowledgeError(f"{url}: not a readable gzip sitemap ({error})") from error
        if len(body) > max_bytes:
            raise KnowledgeError(f"{url}: the unpacked sitemap is over the {max_bytes}-byte limit")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise KnowledgeError(f"{url}: not a sitemap: invalid XML ({error})") from error
    kind = _local(root.tag)
    if kind not in {"urlset", "sitemapindex"}:
        raise KnowledgeError(f"{url}: not a sitemap: the root element is <{kind}>, not <urlset> or <sitemapindex>")
    entry = "url" if kind == "urlset" else "sitemap"
    locations = []
    for child in root:
        if _local(child.tag) != entry:
            continue
        for part in child:
            if _local(part.tag) == "loc" and part.text and part.text.strip():
                locations.append(part.text.strip())
    return kind, locations


def read_sitemap(fetcher: PageFetcher, url: str) -> SitemapPages:
    """Every page the sitemap at `url` (or the sitemaps its index lists) names, in order, each once."""
    pages = SitemapPages()
    host = urlsplit(url).netloc.lower()
    seen_sitemaps: set[str] = set()
    seen_pages: set[str] = set()

    def visit(sitemap_url: str, depth: int) -> None:
        seen_sitemaps.add(sitemap_url)
        answer = fetcher.fetch(sitemap_url)
        if answer.is_html:
            raise KnowledgeError(f"{sitemap_url}: not a sitemap: it answered an HTML page ({answer.content_type})")
        kind, locations = parse_sitemap(sitemap_url, answer.body, fetcher.policy.max_bytes)
        for location in locations:
            target = normalise_url(location, sitemap_url)
            if target is None or urlsplit(target).netloc.lower() != host:
                pages.skipped.append(f"{location}: not on {host}")
                continue
            if kind == "urlset":
                if target not in seen_pages:
                    seen_pages.add(target)
                    pages.urls.append(target)
            elif target in seen_sitemaps:
                continue
            elif depth >= MAX_DEPTH:
                pages.skipped.append(f"{target}: sitemap index nested deeper than {MAX_DEPTH} levels")
            else:
                try:
                    visit(target, depth + 1)
                except (FetchError, KnowledgeError) as error:
                    pages.skipped.append(str(error))
                    pages.complete = False

    visit(url, 1)
    return pages
