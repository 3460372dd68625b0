"""`Services`: what stages are built from (config, prompts, retriever, LLM, conversation store, embedder)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.conversations import ConversationStore
from bot.llm.base import LLMBackend
from knowledge.embedders.base import Embedder
from knowledge.retrieval import Retriever
from prompts import PromptLibrary


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
