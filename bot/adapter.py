"""The adapter contract: what a channel is given and what it must do.

A channel (terminal, HTTP, Discord, or a third party's) is a `deskbot.adapters` entry point: a class built with an
`AdapterContext` and started with `run(**options)`. It translates its network's events into `Message`s, asks
`context.responder` for the reply (the one answer path: readiness, the canned fallback, listeners) and sends the
reply back in its network's shape. It gets what it needs and no more: the responder, the settings (its own section
through `Settings.section`), the database its own tables live in, the folder for local state, and the handoff
notices its engine announces (to deliver them, if it can).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.config import Settings
from bot.handoff import HandoffNotices
from bot.responder import Responder

if TYPE_CHECKING:
    from bot.store.database import Database
    from knowledge.base import KnowledgeBase
    from knowledge.reports import SyncReport


@dataclass(frozen=True)
class AdapterContext:
    responder: Responder
    settings: Settings
    database: Callable[[], Database]
    """Deskbot's database (`[store] url`), opened on first call: where a channel keeps its own tables."""
    knowledge_report: Callable[[], SyncReport | None] = lambda: None
    """What syncing the knowledge folder did when the engine was built (None before, or without a sync)."""
    handoff_notices: HandoffNotices = field(default_factory=HandoffNotices)
    """The runtime's handoff notices: a channel that can deliver them listens here (`bot.handoff`)."""
    knowledge: Callable[[], KnowledgeBase] | None = None
    """The engine's knowledge base, for a channel that writes to it (the console's curated answers); call it once
    the responder is ready, so it is the one the engine built."""

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


@runtime_checkable
class Adapter(Protocol):
    def run(self, **options: Any) -> None:
        """Serve the channel until stopped (blocking); `options` come from the command line."""
        ...


AdapterFactory = Callable[[AdapterContext], Adapter]
