from pathlib import Path

from knowledge.loaders.html import HtmlLoader

PAGE = """<html><head><title>Resetting your password</title></head><body>
<nav class="navbar"><a href="/">Home</a> <a href="/billing">Billing navigation link</a></nav>
<header><div>Nimbus Help Centre banner</div></header>
<main>
  <h1>Resetting your password</h1>
  <p>Open <b>Settings</b> and choose <i>Security</i>.</p>
  <h2>Locked accounts</h2>
  <ul><li>Error E-4021 means the account is locked.</li><li>Wait 15 minutes.</li></ul>
  <div class="cookie-banner">We use cookies to improve this site.</div>
</main>
<aside>Related: shipping times</aside>
<footer>Copyright Nimbus</footer>
<script>var tracking = 1;</script>
</body></html>"""


def test_html_keeps_main_content_and_headings(tmp_path: Path) -> None:
    page = tmp_path / "help" / "password.html"
    page.parent.mkdir()
    page.write_text(PAGE, encoding="utf-8")

    [document] = HtmlLoader().load(page, tmp_path)

    assert document.id == "help/password"
    assert document.title == "Resetting your password"
    assert "## Locked accounts" in document.text
    assert "- Error E-4021 means the account is locked." in document.text
    assert "Open Settings and choose Security" in document.text
    for noise in ("navigation link", "banner", "shipping", "Copyright", "tracking", "cookies"):
        assert noise not in document.text
    assert document.metadata["format"] == "html"
    assert "modified" in document.metadata


def test_html_without_main_uses_body(tmp_path: Path) -> None:
    page = tmp_path / "plain.htm"
    page.write_text("<html><body><h1>Returns</h1><p>Return items within 30 days.</p></body></html>", encoding="utf-8")

    [document] = HtmlLoader().load(page, tmp_path)

    assert document.title == "Returns"
    assert document.text == "Return items within 30 days."


def test_empty_html_gives_no_document(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_text("   ", encoding="utf-8")
    assert list(HtmlLoader().load(page, tmp_path)) == []
