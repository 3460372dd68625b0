"""The static help-centre site of `tests/fixtures/help_site` on loopback (a `StaticSite`), and misbehaving routes.

Tests change the site between syncs (`put`, `delete`, `gone`) and answer paths with the routes below to check every
way a page can fail: redirects, pages that never finish, huge pages, retryable statuses.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from knowledge.web.static_site import Route, StaticSite

FIXTURES = Path(__file__).parent.parent / "fixtures" / "help_site"
TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain"}


class HelpSite(StaticSite):
    """The fixture help centre: every fixture file at its path, `{base}` replaced by the site's address."""

    def __init__(self) -> None:
        super().__init__()
        for path in sorted(FIXTURES.rglob("*")):
            if path.is_file() and path.suffix in TYPES:
                body = path.read_text(encoding="utf-8").replace("{base}", self.base)
                self.put("/" + path.relative_to(FIXTURES).as_posix(), body, TYPES[path.suffix])
        self.put("/", self.pages["/index.html"][0].decode(), TYPES[".html"])

    def start(self) -> HelpSite:
        super().start()
        return self


def redirect_to(location: str, status: int = 302) -> Route:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def status(code: int, headers: dict[str, str] | None = None) -> Route:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def trickle(site: StaticSite, interval_s: float = 0.1) -> Route:
    """A page that never finishes: headers, then a few bytes every `interval_s` until the client gives up."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            while not site.stopping.is_set():
                handler.wfile.write(b"5\r\n<p>x \r\n")
                handler.wfile.flush()
                time.sleep(interval_s)
        except (BrokenPipeError, ConnectionResetError):
            return

    return answer


def large_page(size: int, declare_length: bool) -> Route:
    """An HTML page of `size` bytes, with or without a Content-Length (then sent until the connection closes)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if declare_length:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        block = b"<p>" + b"lorem ipsum " * 5000 + b"</p>\n"
        sent = 0
        try:
            while sent < size:
                handler.wfile.write(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            return

    return answer


def after_failures(failures: list[Route], then: Route) -> Route:
    """Answers with each of `failures` once, in order, then with `then`."""
    remaining = list(failures)
    lock = threading.Lock()

    def answer(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            current = remaining.pop(0) if remaining else then
        current(handler)

    return answer


def serve_page(site: StaticSite, path: str) -> Route:
    """The fixture page at `path`, as the site normally answers it (for `after_failures`)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body, content_type = site.pages[path]
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer
