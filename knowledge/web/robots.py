"""A site's robots.txt, read once per sync and asked before every page (`urllib.robotparser`).

As RFC 9309 says: a robots.txt answered with 4xx (there is none) allows everything; one that cannot be reached
(5xx, timeout) means the crawler must assume everything is disallowed, so the sync stops with that reason.
`Crawl-delay` for Deskbot (or `*`) slows the fetcher to at most one request per that many seconds.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from knowledge.errors import KnowledgeError
from knowledge.web.fetch import ROBOTS_AGENT, FetchError, PageFetcher


class RobotsRules:
    def __init__(self, parser: RobotFileParser | None) -> None:
        """`parser` None allows every path."""
        self._parser = parser

    def allows(self, url: str) -> bool:
        return self._parser is None or self._parser.can_fetch(ROBOTS_AGENT, url)

    @property
    def crawl_delay_s(self) -> float | None:
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay is not None else None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def read_robots(fetcher: PageFetcher, site_url: str) -> RobotsRules:
    """The rules of `site_url`'s host; applies their Crawl-delay to `fetcher`."""
    url = robots_url(site_url)
    try:
        answer = fetcher.fetch(url)
    except FetchError as error:
        if error.reason.startswith("HTTP 4"):
            return RobotsRules(None)
        raise KnowledgeError(
            f"{url}: robots.txt cannot be read ({error.reason}); not crawling a site whose rules are unknown"
        ) from error
    parser = RobotFileParser(url)
    parser.parse(answer.text().splitlines())
    rules = RobotsRules(parser)
    if rules.crawl_delay_s:
        fetcher.slow_to(rules.crawl_delay_s)
    return rules
