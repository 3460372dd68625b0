"""A chat-completions server on 127.0.0.1 that speaks the OpenAI wire protocol from the recorded payloads in
tests/fixtures/openai/. Each request takes the next scripted behaviour: "stream", "json", "429", "503", "401",
"hang" (never answers), "drop" (closes the connection mid-stream); when the script runs out it streams."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openai"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def content_chunk(like: dict[str, Any], text: str) -> dict[str, Any]:
    """A `chat.completion.chunk` like `like` that carries `text`."""
    return {**like, "choices": [{**like["choices"][0], "delta": {"content": text}}]}


class ChatServer:
    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.request_times: list[float] = []
        self.retry_after = "1"
        self.disconnected = threading.Event()
        self.url = ""


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            state.request_times.append(time.monotonic())
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            behaviour = state.script.popleft() if state.script else "stream"
            if behaviour == "429":
                self._json(429, fixture("error_rate_limit.json"), {"Retry-After": state.retry_after})
            elif behaviour == "503":
                self._json(503, {"error": {"message": "The server is overloaded", "type": "server_error"}})
            elif behaviour == "401":
                self._json(401, fixture("error_invalid_api_key.json"))
            elif behaviour == "json":
                self._json(200, fixture("chat_completion.json"))
            elif behaviour == "hang":
                time.sleep(3)
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                chunks = fixture("chat_completion_chunks.json")
                if behaviour == "long":  # the fixture's sentence, then more sentences, slowly
                    more = [" Keep the receipt.", " Print the label.", " Drop it off.", " Wait for the refund."]
                    chunks[-1:-1] = [content_chunk(chunks[1], text) for text in more]
                try:
                    for number, chunk in enumerate(chunks):
                        if behaviour == "drop" and number == 2:
                            self.wfile.flush()
                            self.connection.close()
                            return
                        if behaviour in {"slow", "long"}:
                            time.sleep(0.2)
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    state.disconnected.set()
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
