"""`Services`: what stages are built from (config, prompts, retriever, LLM, conversation store, embedder, database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.conversations import ConversationStore
from bot.handoff import HandoffNotices
from bot.llm.base import LLMBackend
from knowledge.embedders.base import Embedder
from knowledge.retrieval import Retriever
from prompts import PromptLibrary

if TYPE_CHECKING:
    from bot.store.database import Database


@dataclass
class Services:
    settings: Settings
    prompts: PromptLibrary
    retriever: Retriever
    llm: LLMBackend
    conversations: ConversationStore
    embedder: Embedder | None = None
    """The knowledge base's embedder, for stages that compare texts by meaning (answer composition)."""
    bot_name: str = "Deskbot"
    company: str = "our company"
    database: Database | None = None
    """Deskbot's database, for stages that keep counts in it (the guard's shared rate limit)."""
    handoff_notices: HandoffNotices = field(default_factory=HandoffNotices)
    """Where `/human` announces its notice; the channel that serves this runtime delivers it (`bot.handoff`)."""
