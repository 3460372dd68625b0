"""Conversation memory: the `ConversationStore` protocol and an in-process implementation."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Protocol, runtime_checkable

from bot.types import ChatMessage, Role


@runtime_checkable
class ConversationStore(Protocol):
    def history(self, conversation_id: str, limit: int = 20) -> list[ChatMessage]:
        """The last `limit` messages of the conversation, oldest first."""
        ...

    def append(self, conversation_id: str, user_id: str, channel: str, role: Role, content: str) -> None: ...

    def reset(self, conversation_id: str) -> None:
        """Forget the conversation's messages (the user asked to start over)."""
        ...


class InMemoryConversationStore:
    """Keeps conversations in this process only; for tests, the terminal and single-worker demos."""

    def __init__(self) -> None:
        self._messages: dict[str, list[ChatMessage]] = defaultdict(list)
        self._lock = threading.Lock()

    def history(self, conversation_id: str, limit: int = 20) -> list[ChatMessage]:
        with self._lock:
            return list(self._messages.get(conversation_id, [])[-limit:])

    def append(self, conversation_id: str, user_id: str, channel: str, role: Role, content: str) -> None:
        with self._lock:
            self._messages[conversation_id].append(ChatMessage(role, content))

    def reset(self, conversation_id: str) -> None:
        with self._lock:
            self._messages.pop(conversation_id, None)
