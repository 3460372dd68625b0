"""How a reply is shown: its wire JSON, its sources lines and the actions offered under it.

One shape for every JSON surface (`deskbot ask --json`, `/v1/chat`, the SSE `reply` event, outgoing webhooks) and
one list of reply actions (feedback, talk to a person) with their labels and the command each one sends, which the
terminal, Slack and Discord render in their own widgets.

A citation's `source` is shown as the document's public source: a URL, or the path below the folder it was ingested
from (what loaders record). A server path recorded before loaders did so (`/home/.../faq.md`, `C:\\kb\\faq.md`,
`file:///...`) is shown as its file name only (`public_source`), so no client learns where the server keeps its files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from bot.types import Reply

ACTION_KINDS = frozenset({"answer", "composed", "faq", "abstain"})
"""Replies that offer the actions: the bot's own answers (and its honest "I don't know"), not canned texts."""
_SERVER_PATH = re.compile(r"^(?:/|~/|file:|[A-Za-z]:[\\/]|\\\\)")
"""A POSIX or home path, a file URL, a Windows drive or UNC path: where a server keeps a file, not a public source."""


def public_source(source: str) -> str:
    """`source` as a client may see it: unchanged, unless it is a server path, then only its file name."""
    if not _SERVER_PATH.match(source):
        return source
    if "\\" in source:
        return PureWindowsPath(source).name
    return PurePosixPath(source.removeprefix("file://")).name


def reply_json(reply: Reply) -> dict[str, Any]:
    """The reply as JSON (DESIGN.md's `ask --json`): `{"answer", "citations": [{"id", "title", "source", "score"}],
    "abstained", "handoff", "conversation_id", "latency_ms"}`."""
    return {
        "answer": reply.text,
        "citations": [
            {"id": c.id, "title": c.title, "source": public_source(c.source), "score": c.score} for c in reply.citations
        ],
        "abstained": reply.abstained,
        "handoff": reply.handoff,
        "conversation_id": reply.conversation_id,
        "latency_ms": round(reply.latency_ms, 1),
    }


def source_lines(reply: Reply, with_ids: bool = False, as_links: bool = False) -> list[str]:
    """One line per cited document: `[n] Title`, and `(document id)` after it `with_ids` (for operators); the title
    a Markdown link to its source `as_links`, when the source is a web address."""
    return [
        f"[{c.number}] "
        + (markdown_link(c.title, c.source) if as_links and c.source.startswith(("https://", "http://")) else c.title)
        + (f"  ({c.id})" if with_ids else "")
        for c in reply.citations
    ]


def markdown_link(text: str, url: str) -> str:
    """`[text](url)`, with the brackets in `text` and the characters that would end `url` escaped."""
    label = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"[{label}]({url.replace(' ', '%20').replace('(', '%28').replace(')', '%29')})"


@dataclass(frozen=True)
class ReplyAction:
    id: str
    """Stable id (`feedback:good`); channels derive their widget ids from it, so keep it across releases."""
    label: str
    command: str
    """What pressing it sends to the bot, as if the customer had typed it."""
    emphasis: bool = False


REPLY_ACTIONS = (
    ReplyAction("feedback:good", "Helpful", "/feedback good", emphasis=True),
    ReplyAction("feedback:bad", "Not helpful", "/feedback bad"),
    ReplyAction("human", "Talk to a person", "/human"),
)


def actions_for(reply: Reply) -> tuple[ReplyAction, ...]:
    return REPLY_ACTIONS if reply.kind in ACTION_KINDS else ()
