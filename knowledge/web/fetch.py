"""`PageFetcher`: polite HTTP GETs for crawling a help-centre site, each one bounded in time, size and redirects.

Every request names Deskbot in its `User-Agent`, waits for its turn at the site's rate (`FetchPolicy.rate`
requests per second, shared by the `concurrency` worker threads) and is streamed so that a body over `max_bytes`
is cut off, and one that does not finish within `timeout_s` is abandoned, whatever the server does. A 429 or 5xx
answer is retried after its `Retry-After` (seconds or an HTTP date, capped) or an exponential backoff, and the whole
site is paused for that long; after `retries` tries the page fails with a `FetchError` whose `reason` is short
enough to count in a summary ("HTTP 503 after 3 tries", "timeout", "redirect loop", "too large",
"not HTML (application/pdf)"). Redirects are followed by hand, only on the page's own host, so a crawl never wanders
off the site it was given.
`etag` / `last_modified` make the request conditional: an unchanged page answers 304 with no body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from knowledge.errors import KnowledgeError

USER_AGENT = "Deskbot/0.1 (help-centre indexer; +https://pypi.org/project/deskbot/)"
ROBOTS_AGENT = "Deskbot"
"""The product token robots.txt rules are matched against."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchPolicy:
    """How hard a crawl may press on one site, and how long and large one answer may be."""

    rate: float = 2.0
    """Requests per second at most (robots.txt `Crawl-delay` can only lower it)."""
    concurrency: int = 2
    timeout_s: float = 20.0
    """Connect, read and whole-answer deadline of one request."""
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 3
    """Tries of a page answered with 429 or 5xx (or a dropped connection) before it fails."""
    backoff_s: float = 1.0
    """First wait between tries without a Retry-After; doubled each try."""
    max_wait_s: float = 60.0
    """The longest one wait (a Retry-After) may be."""
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.concurrency < 1 or self.timeout_s <= 0 or self.max_bytes < 1 or self.retries < 1:
            raise KnowledgeError("crawl settings: rate, concurrency, timeout, size limit and retries must be positive")


class FetchError(KnowledgeError):
    """A page could not be fetched; `reason` is its short, countable cause."""

    def __init__(self, url: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{url}: {reason}{f' ({detail})' if detail else ''}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    """One answer: 200 with a body, or 304 (`not_modified`) without one."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None
    last_modified: str | None
    charset: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES

    def text(self) -> str:
        try:
            return self.body.decode(self.charset or "utf-8")
        except (LookupError, UnicodeDecodeError):
            return self.body.decode("utf-8", errors="replace")


class _Pacer:
    """Hands out request start times at most `rate` per second, across threads; `pause` holds everyone back."""

    def __init__(self, rate: float, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def slow_to(self, interval_s: float) -> None:
        with self._lock:
            self._interval = max(self._interval, interval_s)

    def wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds: a number of seconds, or an HTTP date from now; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class PageFetcher:
    """Fetches pages of one crawl with one connection pool; use it as a context manager."""

    def __init__(self, policy: FetchPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        """`sleep` waits between requests (tests pass one that records the waits)."""
        import httpx

        self.policy = policy or FetchPolicy()
        self._pacer = _Pacer(self.policy.rate, sleep)
        self._client = httpx.Client(
            headers={"User-Agent": self.policy.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.5"},
            timeout=httpx.Timeout(self.policy.timeout_s),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.policy.concurrency),
        )

    def __enter__(self) -> PageFetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def slow_to(self, interval_s: float) -> None:
        """Space requests at least `interval_s` apart (a robots.txt Crawl-delay)."""
        self._pacer.slow_to(interval_s)

    def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None, html_only: bool = False
    ) -> Fetched:
        """GET `url` (conditionally, given validators), retrying 429/5xx; raises `FetchError`. With `html_only`,
        an answer of another content type fails as "not HTML (type)" before its body is downloaded."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        policy = self.policy
        for attempt in range(1, policy.retries + 1):
            self._pacer.wait_turn()
            try:
                return self._get(url, headers, html_only)
            except _RetryableError as retryable:
                if attempt == policy.retries:
                    raise FetchError(url, f"{retryable.reason} after {attempt} tries") from None
                wait = retryable.wait_s if retryable.wait_s is not None else policy.backoff_s * 2 ** (attempt - 1)
                self._pacer.pause(min(wait, policy.max_wait_s))
        raise AssertionError("unreachable: the last try returns or raises")

    def fetch_all(
        self, requests: Iterable[tuple[str, str | None, str | None]], html_only: bool = False
    ) -> Iterator[tuple[str, Fetched | FetchError]]:
        """Fetch (url, etag, last_modified) requests on `concurrency` threads; yields (url, answer or error)."""

        def one(request: tuple[str, str | None, str | None]) -> tuple[str, Fetched | FetchError]:
            try:
                return request[0], self.fetch(*request, html_only=html_only)
            except FetchError as error:
                return request[0], error

        with ThreadPoolExecutor(max_workers=self.policy.concurrency, thread_name_prefix="deskbot-crawl") as pool:
            yield from pool.map(one, requests)

    def _get(self, url: str, headers: dict[str, str], html_only: bool) -> Fetched:
        """One try: GET `url`, following redirects on its own host (a loop, a long chain or another host fails)."""
        import httpx

        policy = self.policy
        deadline = time.monotonic() + policy.timeout_s
        chain = [url]
        try:
            while True:
                with self._client.stream("GET", chain[-1], headers=headers) as response:
                    if response.status_code in REDIRECT_STATUSES:
                        chain.append(self._redirect_target(url, chain, response.headers.get("Location", "")))
                        continue
                    if response.status_code in RETRY_STATUSES:
                        wait = retry_after_seconds(response.headers.get("Retry-After"))
                        raise _RetryableError(f"HTTP {response.status_code}", wait)
                    content_type, charset = _content_type(response.headers.get("Content-Type", ""))
                    fetched = Fetched(
                        url=url,
                        final_url=chain[-1],
                        status=response.status_code,
                        content_type=content_type,
                        body=b"",
                        etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"),
                        charset=charset,
                    )
                    if response.status_code == 304:
                        return fetched
                    if response.status_code != 200:
                        raise FetchError(url, f"HTTP {response.status_code}")
                    if html_only and not fetched.is_html:
                        raise FetchError(url, f"not HTML ({content_type or 'no content type'})")
                    return replace(fetched, body=self._read_body(url, response, deadline))
        except httpx.TimeoutException:
            raise FetchError(url, "timeout", f"no answer within {policy.timeout_s:g}s") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError) as error:
            raise _RetryableError(f"connection failed ({type(error).__name__})", None) from None
        except httpx.HTTPError as error:
            raise FetchError(url, "request failed", type(error).__name__) from None

    def _redirect_target(self, url: str, chain: list[str], location: str) -> str:
        target = urldefrag(urljoin(chain[-1], location.strip())).url
        if not location.strip():
            raise FetchError(url, "redirect without a Location")
        if urlsplit(target).netloc.lower() != urlsplit(url).netloc.lower():
            raise FetchError(url, "redirected to another site", target)
        if target in chain:
            raise FetchError(url, "redirect loop", " -> ".join([*chain, target]))
        if len(chain) > self.policy.max_redirects:
            raise FetchError(url, "too many redirects", f"more than {self.policy.max_redirects}")
        return target

    def _read_body(self, url: str, response: Any, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(url, "too large", f"{int(declared)} bytes, over the {limit}-byte limit")
        parts: list[bytes] = []
        size = 0
        for part in response.iter_bytes():
            size += len(part)
            if size > limit:
                raise FetchError(url, "too large", f"over the {limit}-byte limit")
            if time.monotonic() > deadline:
                raise FetchError(url, "timeout", f"the page did not finish within {self.policy.timeout_s:g}s")
            parts.append(part)
        return b"".join(parts)


class _RetryableError(Exception):
    def __init__(self, reason: str, wait_s: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s


def _content_type(header: str) -> tuple[str, str | None]:
    """("text/html", "utf-8") from "text/html; charset=UTF-8"."""
    media, _, parameters = header.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ").lower()
    return media.strip().lower(), charset
