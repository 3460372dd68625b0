"""PageFetcher against a real loopback server: user agent, conditional requests, and every way a page can misbehave."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from knowledge.errors import KnowledgeError
from knowledge.web.fetch import FetchError, FetchPolicy, PageFetcher, retry_after_seconds
from tests.knowledge.help_site import (
    HelpSite,
    after_failures,
    large_page,
    redirect_to,
    serve_page,
    status,
    trickle,
)

FAST = FetchPolicy(rate=200, concurrency=2, timeout_s=5, backoff_s=0.01)


@pytest.fixture
def site() -> Iterator[HelpSite]:
    server = HelpSite().start()
    yield server
    server.stop()


def fetch(site: HelpSite, path: str, policy: FetchPolicy = FAST, **validators: str | None) -> object:
    with PageFetcher(policy) as fetcher:
        return fetcher.fetch(site.url(path), **validators)


def long_waits(waits: list[float]) -> list[float]:
    """The waits that were backoffs, not the pacing between requests, to 0.1 s."""
    return [round(wait, 1) for wait in waits if wait > 0.1]


def test_a_page_is_fetched_with_a_user_agent_naming_deskbot(site: HelpSite) -> None:
    with PageFetcher(FAST) as fetcher:
        answer = fetcher.fetch(site.url("/articles/refunds.html"))
    assert answer.status == 200 and answer.is_html
    assert "Annual plans can be refunded" in answer.text()
    assert answer.etag and answer.last_modified
    [(_, _, headers)] = site.requests
    assert headers["user-agent"].startswith("Deskbot/")


def test_an_unchanged_page_answers_304_to_its_validators(site: HelpSite) -> None:
    with PageFetcher(FAST) as fetcher:
        first = fetcher.fetch(site.url("/articles/refunds.html"))
        again = fetcher.fetch(site.url("/articles/refunds.html"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    assert site.requests[-1][2]["if-none-match"] == first.etag


def test_a_redirect_loop_fails_with_its_reason(site: HelpSite) -> None:
    site.route("/loop-a", redirect_to("/loop-b"))
    site.route("/loop-b", redirect_to("/loop-a"))
    with pytest.raises(FetchError, match="redirect loop") as caught:
        fetch(site, "/loop-a")
    assert caught.value.reason == "redirect loop"
    assert site.paths_requested() == ["/loop-a", "/loop-b"]


def test_a_long_redirect_chain_or_one_to_another_site_fails(site: HelpSite) -> None:
    for hop in range(8):
        site.route(f"/hop{hop}", redirect_to(f"/hop{hop + 1}"))
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(site, "/hop0")
    site.route("/away", redirect_to("https://elsewhere.example.org/"))
    with pytest.raises(FetchError, match=r"redirected to another site \(https://elsewhere.example.org/\)"):
        fetch(site, "/away")


def test_a_redirect_is_followed_to_the_final_url(site: HelpSite) -> None:
    site.route("/old-refunds", redirect_to("/articles/refunds.html", 301))
    with PageFetcher(FAST) as fetcher:
        answer = fetcher.fetch(site.url("/old-refunds"))
    assert answer.final_url == site.url("/articles/refunds.html")
    assert answer.url == site.url("/old-refunds")


def test_a_page_that_never_finishes_is_abandoned_at_the_deadline(site: HelpSite) -> None:
    site.route("/slow", trickle(site, interval_s=0.05))
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout"):
        fetch(site, "/slow", FetchPolicy(rate=100, timeout_s=0.5))
    assert time.monotonic() - started < 3


def test_a_page_that_never_answers_times_out(site: HelpSite) -> None:
    site.route("/silent", lambda handler: time.sleep(2))
    with pytest.raises(FetchError, match="timeout"):
        fetch(site, "/silent", FetchPolicy(rate=100, timeout_s=0.3))


@pytest.mark.parametrize("declared", [True, False])
def test_a_huge_page_is_cut_off_at_the_size_limit(site: HelpSite, declared: bool) -> None:
    site.route("/huge", large_page(50_000_000, declare_length=declared))
    with pytest.raises(FetchError, match="too large") as caught:
        fetch(site, "/huge", FetchPolicy(rate=100, max_bytes=200_000))
    assert caught.value.reason == "too large"


def test_a_page_of_another_content_type_is_refused_before_its_body(site: HelpSite) -> None:
    site.put("/export.json", "{}", "application/json")
    with PageFetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match=r"not HTML \(application/json\)"):
            fetcher.fetch(site.url("/export.json"), html_only=True)
        assert fetcher.fetch(site.url("/export.json")).body == b"{}"


def test_a_429_is_retried_after_its_retry_after(site: HelpSite) -> None:
    waits: list[float] = []
    site.route("/busy", after_failures([status(429, {"Retry-After": "7"})], serve_page(site, "/articles/refunds.html")))
    with PageFetcher(FAST, sleep=waits.append) as fetcher:
        answer = fetcher.fetch(site.url("/busy"))
    assert answer.status == 200
    assert long_waits(waits) == [7.0]


def test_5xx_backs_off_exponentially_then_fails_with_a_countable_reason(site: HelpSite) -> None:
    waits: list[float] = []
    site.route("/down", status(503))
    policy = FetchPolicy(rate=100, retries=3, backoff_s=0.5)
    with PageFetcher(policy, sleep=waits.append) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/down"))
    assert caught.value.reason == "HTTP 503 after 3 tries"
    assert long_waits(waits) == [0.5, 1.0]
    assert site.paths_requested() == ["/down"] * 3


def test_a_retry_after_is_capped(site: HelpSite) -> None:
    waits: list[float] = []
    site.route("/busy", after_failures([status(429, {"Retry-After": "86400"})], serve_page(site, "/index.html")))
    with PageFetcher(FetchPolicy(rate=100, max_wait_s=30), sleep=waits.append) as fetcher:
        fetcher.fetch(site.url("/busy"))
    assert long_waits(waits) == [30.0]


def test_a_missing_page_fails_at_once(site: HelpSite) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(site, "/no-such-page.html")
    assert len(site.requests) == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("120") == 120.0
    in_a_minute = retry_after_seconds(formatdate(time.time() + 60, usegmt=True))
    assert in_a_minute is not None and 55 < in_a_minute <= 60
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_requests_keep_to_the_rate(site: HelpSite) -> None:
    with PageFetcher(FetchPolicy(rate=20, concurrency=4)) as fetcher:
        started = time.monotonic()
        answers = list(fetcher.fetch_all([(site.url("/articles/refunds.html"), None, None)] * 8))
        elapsed = time.monotonic() - started
    assert len(answers) == 8
    assert elapsed >= 7 / 20 * 0.9


def test_impossible_crawl_settings_are_refused() -> None:
    with pytest.raises(KnowledgeError, match="must be positive"):
        FetchPolicy(rate=0)
