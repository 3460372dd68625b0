"""A static help-centre site on loopback for the website-source tests: `tests/fixtures/help_site`, with ETags.

Each page answers with an ETag (a hash of its body) and a Last-Modified date, and 304 to a matching
`If-None-Match`. Tests change the site between syncs (`put`, `delete`, `gone`) and add misbehaving routes (`route`);
`requests` lists every (path, status, request headers) the server answered, in order.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent.parent / "fixtures" / "help_site"
TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain"}
LAST_MODIFIED = "Fri, 20 Nov 2026 10:00:00 GMT"

Route = Callable[[BaseHTTPRequestHandler], None]


class HelpSite:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.gone_paths: set[str] = set()
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, int, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        for path in sorted(FIXTURES.rglob("*")):
            if path.is_file() and path.suffix in TYPES:
                body = path.read_text(encoding="utf-8").replace("{base}", self.base)
                self.put("/" + path.relative_to(FIXTURES).as_posix(), body, TYPES[path.suffix])
        self.put("/", self.pages["/index.html"][0].decode(), TYPES[".html"])

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: str | bytes, content_type: str = TYPES[".html"]) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            self.pages[path] = (data, content_type)
            self.gone_paths.discard(path)

    def delete(self, path: str) -> None:
        with self._lock:
            self.pages.pop(path, None)

    def gone(self, path: str) -> None:
        """`path` answers 410 Gone from now on."""
        self.delete(path)
        with self._lock:
            self.gone_paths.add(path)

    def route(self, path: str, answer: Route) -> None:
        with self._lock:
            self.routes[path] = answer

    def paths_requested(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    def log(self, path: str, status: int, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, status, headers))

    def start(self) -> HelpSite:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _handler_for(site: HelpSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            headers = {key.lower(): value for key, value in self.headers.items()}
            route = site.routes.get(path)
            if route is not None:
                site.log(path, 0, headers)
                route(self)
                return
            page = site.pages.get(path)
            if page is None:
                status = 410 if path in site.gone_paths else 404
                site.log(path, status, headers)
                self.send_error(status)
                return
            body, content_type = page
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if headers.get("if-none-match") == etag:
                site.log(path, 304, headers)
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            site.log(path, 200, headers)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            self.wfile.write(body)

    return Handler


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


def trickle(site: HelpSite, interval_s: float = 0.1) -> Route:
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


def serve_page(site: HelpSite, path: str) -> Route:
    """The fixture page at `path`, as the site normally answers it (for `after_failures`)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body, content_type = site.pages[path]
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer
