"""A web page as a document: main content as markdown, words unescaped, chrome cut, a clear error when empty."""

from __future__ import annotations

import pytest

from knowledge.errors import LoaderError
from knowledge.web.extract import page_document

PAGE = """<html><head><title>Appeals – Court Help</title></head><body>
<header><a href="/">Court Help</a></header><nav><a href="/">Home</a></nav>
<main><article><h1>Appeals</h1>
<p>An appeal goes through these steps, in this order, and each has its own deadline to keep.</p>
<p>1. Notice of appeal</p><p>2. Designating the record (*within 10 days*)</p>
<table><tr><th>Step</th><th>Form</th></tr><tr><td>Notice</td><td>APP-002 | CR-120</td></tr></table>
</article></main><footer>All rights reserved.</footer></body></html>"""


def test_main_content_keeps_words_as_written_and_table_cells_apart() -> None:
    document = page_document("https://h/appeals", "https://h/appeals", PAGE)
    assert document.title == "Appeals"
    assert "1. Notice of appeal" in document.text
    assert "2. Designating the record (*within 10 days*)" in document.text
    assert "| Notice | APP-002 \\| CR-120 |" in document.text
    assert "Court Help" not in document.text and "rights reserved" not in document.text
    assert (document.id, document.source, document.metadata["site"]) == ("https://h/appeals", "https://h/appeals", "h")


def test_a_page_without_main_content_is_refused() -> None:
    with pytest.raises(LoaderError, match="https://h/empty: no main content"):
        page_document("https://h/empty", "https://h/empty", "<html><body><nav>Home</nav></body></html>")
