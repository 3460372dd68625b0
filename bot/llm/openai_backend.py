"""`OpenAILLM`: any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, hosted APIs).

`POST {base_url}/chat/completions` with `"stream": true`; the reply arrives as server-sent events, one
`chat.completion.chunk` per `data:` line, ending with `data: [DONE]` or, where a server sends none (`transformers
serve`), with the chunk that carries a `finish_reason`. A server that answers with one `chat.completion` JSON object
instead is understood too, and `[llm] stream = false` asks for that. Before the first token, 429 and 5xx answers and
connection failures are retried with exponential backoff, honouring `Retry-After`; the whole call, retries included,
stays within `timeout_s`. Closing the stream closes the connection, which is how a server learns that a reply was
cancelled, or that it is complete after `max_sentences` sentences (`bot.llm.sentence_stop`).

Config: `DESKBOT_LLM__BACKEND=openai`, `DESKBOT_LLM__MODEL`, `DESKBOT_LLM__BASE_URL` (default the OpenAI API),
`DESKBOT_LLM__API_KEY`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from bot.config import LLMSettings, Settings
from bot.errors import LLMError, LLMTimeoutError
from bot.llm.base import GenerationOptions
from bot.llm.sentence_stop import stop_after_sentences
from bot.types import ChatMessage

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})
CHARS_PER_TOKEN = 4


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _RetryableError(Exception):
    def __init__(self, reason: str, wait_s: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s


class OpenAILLM:
    def __init__(self, settings: LLMSettings, max_retries: int = 4, backoff_s: float = 0.5) -> None:
        self.settings = settings
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    @classmethod
    def build(cls, settings: Settings) -> OpenAILLM:
        return cls(settings.llm)

    @property
    def name(self) -> str:
        return self.settings.model

    def load(self) -> None:
        """Nothing to load; connections are opened per reply."""

    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token): the server's tokenizer is not available here."""
        return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN) if text else 0

    def _headers(self) -> dict[str, str]:
        accept = "text/event-stream" if self.settings.stream else "application/json"
        headers = {"Content-Type": "application/json", "Accept": accept}
        if self.settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        return headers

    def _payload(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "stream": self.settings.stream,
        }
        if options.stop:
            payload["stop"] = list(options.stop)
        return payload

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncIterator[str]:
        return stop_after_sentences(self._generate(messages, options), options.max_sentences)

    async def _generate(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> AsyncGenerator[str, None]:
        import httpx

        url = f"{self.base_url}/chat/completions"
        payload = self._payload(messages, options)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.timeout_s
        attempt = 0
        try:
            async with (
                asyncio.timeout_at(deadline),
                httpx.AsyncClient(timeout=httpx.Timeout(options.timeout_s, connect=10.0)) as client,
            ):
                while True:
                    yielded = False
                    try:
                        async for piece in self._attempt(client, url, payload):
                            yielded = True
                            yield piece
                        return
                    except _RetryableError as retry:
                        if yielded or attempt >= self.max_retries:
                            raise LLMError(f"LLM server at {self.base_url}: {retry.reason}") from None
                        wait = retry.wait_s if retry.wait_s is not None else self.backoff_s * 2**attempt
                        if loop.time() + wait >= deadline:
                            limit = options.timeout_s
                            raise LLMTimeoutError(
                                f"LLM server at {self.base_url} asked to wait {wait:.1f}s, past the {limit:g}s limit"
                            ) from None
                        attempt += 1
                        log.warning("LLM server: %s; retry %d in %.2fs", retry.reason, attempt, wait)
                        await asyncio.sleep(wait)
        except TimeoutError as error:
            raise LLMTimeoutError(f"LLM server at {self.base_url} took longer than {options.timeout_s:g}s") from error

    async def _attempt(self, client: Any, url: str, payload: dict[str, Any]) -> AsyncIterator[str]:
        import httpx

        try:
            async with client.stream("POST", url, json=payload, headers=self._headers()) as response:
                if response.status_code in RETRYABLE:
                    await response.aread()
                    raise _RetryableError(
                        f"HTTP {response.status_code}", retry_after_s(response.headers.get("retry-after"))
                    )
                if response.status_code >= 400:
                    await response.aread()
                    raise LLMError(f"LLM server at {self.base_url} refused the request: {_error_line(response)}")
                if response.headers.get("content-type", "").startswith("application/json"):
                    body = json.loads(await response.aread())
                    text = _message_content(body)
                    if text:
                        yield text
                    return
                finished = False
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise LLMError(f"LLM server at {self.base_url} failed: {_error_text(chunk)}")
                    finished = finished or _finished(chunk)
                    text = _delta_content(chunk)
                    if text:
                        yield text
                if not finished:
                    raise LLMError(f"LLM server at {self.base_url} cut the reply off")
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError) as error:
            raise _RetryableError(f"connection failed ({error.__class__.__name__})", None) from error
        except httpx.HTTPError as error:
            raise LLMError(f"LLM server at {self.base_url} failed ({error.__class__.__name__})") from error
        except json.JSONDecodeError as error:
            raise LLMError(f"LLM server at {self.base_url} sent a malformed reply") from error


def _delta_content(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    return str((choices[0].get("delta") or {}).get("content") or "")


def _finished(chunk: dict[str, Any]) -> bool:
    return any(choice.get("finish_reason") for choice in chunk.get("choices") or [])


def _message_content(body: dict[str, Any]) -> str:
    choices = body.get("choices") or []
    if not choices:
        return ""
    return str((choices[0].get("message") or {}).get("content") or "")


def _error_text(body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "unknown error").splitlines()[0][:200]
    return str(error)[:200]


def _error_line(response: Any) -> str:
    try:
        detail = _error_text(json.loads(response.content))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        detail = response.reason_phrase
    return f"HTTP {response.status_code}: {detail}"
