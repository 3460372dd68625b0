"""`StaticSite`: a static website on loopback that answers like a well-behaved help centre, for tests and benchmarks.

Each page answers with an ETag (a hash of its body), a Last-Modified date and its Content-Length, and 304 to a
matching `If-None-Match`; a missing page answers 404, one marked `gone` 410. Callers change the site while it
runs (`put`, `delete`, `gone`) and may answer a path with their own function (`route`) to misbehave on purpose.
`requests` lists every (path, status, request headers) answered, in order (status 0 for routed paths). It serves
on 127.0.0.1 only, from a thread; it is the shipped fake of a help-centre website, as `HashEmbedder` is of a model.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HTML = "text/html; charset=utf-8"
LAST_MODIFIED = "Fri, 20 Nov 2026 10:00:00 GMT"

Route = Callable[[BaseHTTPRequestHandler], None]


class StaticSite:
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

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: str | bytes, content_type: str = HTML) -> None:
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

    def start(self) -> StaticSite:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StaticSite:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _handler_for(site: StaticSite) -> type[BaseHTTPRequestHandler]:
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
