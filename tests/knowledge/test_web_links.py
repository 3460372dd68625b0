"""Page URLs in one normal form, and the same-site page links of a page."""

from __future__ import annotations

from knowledge.web.links import normalise_url, page_links


def test_urls_are_absolute_without_fragments_with_a_lower_case_host() -> None:
    assert normalise_url("../b.html#top", "https://Help.Example.com/a/c.html") == "https://help.example.com/b.html"
    assert normalise_url("https://help.example.com", "https://x/") == "https://help.example.com/"
    assert normalise_url("?page=2", "https://h/list") == "https://h/list?page=2"
    assert normalise_url("mailto:help@example.com", "https://h/") is None
    assert normalise_url("javascript:void(0)", "https://h/") is None


def test_page_links_keep_same_site_pages_once_in_order() -> None:
    html = """<html><body>
      <a href="/b.html">b</a> <a href="/b.html#x">b again</a> <a href="https://other.example/x">other</a>
      <a href="/files/guide.pdf">pdf</a> <a href="/logo.png">logo</a> <a href="tel:123">call</a>
      <a href="/private.html" rel="nofollow">private</a> <a href="c.html">c</a>
    </body></html>"""
    assert page_links(html, "https://h/docs/a.html") == ["https://h/b.html", "https://h/docs/c.html"]


def test_a_base_href_moves_relative_links() -> None:
    html = '<html><head><base href="https://h/kb/"></head><body><a href="x.html">x</a></body></html>'
    assert page_links(html, "https://h/other/page.html") == ["https://h/kb/x.html"]


def test_an_empty_page_has_no_links() -> None:
    assert page_links("", "https://h/") == []
