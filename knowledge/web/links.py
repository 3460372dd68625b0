"""Page URLs: one normal form per page (so a page is fetched and indexed once), and the same-site links of a page.

A URL is made absolute against its page (or the page's `<base href>`), loses its `#fragment`, gets a lower-case
host and a `/` path when it had none; non-http(s) links (mailto:, javascript:, tel:) and links to files that are
not pages (images, archives, media, office files) are dropped.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit, urlunsplit

_NOT_PAGES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".css", ".js", ".json", ".xml", ".zip", ".gz", ".tar"}
    | {".mp3", ".mp4", ".mov", ".avi", ".woff", ".woff2", ".ttf", ".exe", ".dmg"}
    | {".pdf", ".doc", ".docx", ".ppt", ".pptx", ".xls", ".xlsx", ".csv"}
)


def normalise_url(link: str, base: str) -> str | None:
    """`link` as an absolute http(s) URL without fragment, or None when it is not a web page address."""
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))


def same_site(url: str, site: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(site).netloc.lower()


def page_links(html: str, page_url: str) -> list[str]:
    """The distinct same-site page URLs `html` links to, in document order."""
    import lxml.html
    from lxml.etree import ParserError

    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return []
    bases = tree.xpath("//base/@href")
    base = urljoin(page_url, str(bases[0])) if bases else page_url
    found: dict[str, None] = {}
    for anchor in tree.xpath("//a[@href]"):
        if "nofollow" in str(anchor.get("rel") or "").lower().split():
            continue
        url = normalise_url(str(anchor.get("href")), base)
        if url is None or not same_site(url, page_url):
            continue
        if PurePosixPath(urlsplit(url).path).suffix.lower() in _NOT_PAGES:
            continue
        found[url] = None
    return list(found)
