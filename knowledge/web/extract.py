"""A fetched web page as a `Document`: its main content through trafilatura, as markdown.

trafilatura drops navigation, headers, footers, sidebars and cookie banners, and writes headings as `#` lines and
tables as markdown tables. On short pages (a section's list of articles) it falls back to the whole page's text, so
the page's own chrome, `<nav>`, `<aside>` and the `<header>`/`<footer>` outside its `<main>` or `<article>`, is cut
before it reads the page. The chunker then cuts sections at the page's own headings, and a table's rows stay
readable in a chunk. The title is trafilatura's (a lone `<h1>`, else the `<title>` without the site name); its
full metadata extraction is not used, as its date search alone takes about 0.4 s a page.
The page URL is the document id and its citation `source` (the URL after redirects).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from knowledge.documents import Document
from knowledge.errors import LoaderError

_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~])")
"""trafilatura escapes markdown's special characters in text ("1\\." for "1."); the index wants the words, so all
but `\\|` (which keeps a table's cells apart) are unescaped."""

_CHROME = (
    "//nav | //aside | //header[not(ancestor::main or ancestor::article)]"
    " | //footer[not(ancestor::main or ancestor::article)]"
)


def page_document(url: str, final_url: str, html: str) -> Document:
    """The document for the page at `url`; a page without main content raises `LoaderError`."""
    try:
        import lxml.html
        import trafilatura
        from lxml.etree import ParserError
        from trafilatura.metadata import extract_title
    except ImportError as error:
        raise LoaderError("web pages need trafilatura: pip install 'deskbot[web]'") from error
    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError) as error:
        raise LoaderError(f"{url}: not a readable HTML page ({error})") from error
    title = (extract_title(tree) or "").strip()
    for element in tree.xpath(_CHROME):
        element.drop_tree()
    text = trafilatura.extract(
        tree,
        url=final_url,
        output_format="markdown",
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        include_formatting=True,
        favor_recall=True,
        deduplicate=False,
    )
    if not text or not text.strip():
        raise LoaderError(f"{url}: no main content found in the page")
    lines = _MARKDOWN_ESCAPE.sub(r"\1", text).strip().splitlines()
    if not title and lines[0].startswith("# "):
        title = lines[0][2:].strip()
    if lines[0].startswith("# ") and lines[0][2:].strip() == title:
        lines = lines[1:]
    body = "\n".join(lines).strip()
    if not body:
        raise LoaderError(f"{url}: the page has a title but no text")
    return Document(
        id=url,
        title=title or urlsplit(url).path.strip("/") or urlsplit(url).netloc,
        text=body,
        source=final_url,
        metadata={"format": "html", "url": final_url, "site": urlsplit(final_url).netloc.lower()},
    )
