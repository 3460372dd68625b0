"""`Principal`: the authenticated caller of an HTTP route, and the namespace of every id it sends.

A conversation belongs to the caller that created it. Callers that name their own conversations and customers (an API
key, a widget key; operators later) never hand those ids to the engine as they are: `Principal.message`
prefixes them with the caller's namespace, `<kind>:<name>:` (an API key named `ci` sending conversation `c-1` is
stored as `api:ci:c-1`), and `Principal.own_reply` gives the caller its own id back. A caller can therefore only ever
reach ids under its own prefix: not another key's conversation, nor a Slack thread (`slack:<team>:<channel>:<ts>`) or
a Discord one, whatever it sends; `/human`, `/reset`, `/feedback`, the history and the customer's profile all act on
the namespaced ids. Names are percent-encoded (`:` becomes `%3A`), so the first `:` after the kind always ends the
name and no two callers share a prefix. A name too long for a namespace (a key named before names were limited to 64
characters) is stood for by `~` and its digest: `~` is never in a name that is percent-encoded, so it cannot collide.

`str(principal)` (`api:ci`) is what rate limits count (`adapters.http.limits`) and the customer of a turn that names
none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from hashlib import sha256
from typing import Any
from urllib.parse import quote

from bot.types import Message, Reply, new_conversation_id

# Store ids are at most 200 characters: a namespace of up to 72 leaves 128 for the caller's own id.
MAX_CALLER_ID_CHARS = 128
MAX_NAMESPACE_CHARS = 72
_MAX_NAME_CHARS = 64  # kind (a word of up to 6), two colons: what a namespace leaves for the name


@dataclass(frozen=True)
class Principal:
    """`kind`: how the caller authenticated (`api`: an API key, `widget`: a widget key); `name`: which one (the
    key's name)."""

    kind: str
    name: str

    def __post_init__(self) -> None:
        if not self.kind.isidentifier():
            raise ValueError(f"a principal kind is a plain word, not {self.kind!r}")
        if not self.name:
            raise ValueError("a principal needs a name")
        if len(self.namespace) > MAX_NAMESPACE_CHARS:
            raise ValueError(f"the principal kind {self.kind!r} is too long for a namespace")

    @classmethod
    def api_key(cls, name: str) -> Principal:
        return cls("api", name)

    @classmethod
    def widget(cls, key_name: str) -> Principal:
        """The callers of a widget key: each browser session's conversation is `widget:<key>:<session>`."""
        return cls("widget", key_name)

    def __str__(self) -> str:
        name = quote(self.name, safe="")
        if len(name) > _MAX_NAME_CHARS:
            name = "~" + sha256(self.name.encode()).hexdigest()[:32]
        return f"{self.kind}:{name}"

    @property
    def namespace(self) -> str:
        return f"{self}:"

    def scoped(self, caller_id: str) -> str:
        """The stored id of the caller's `caller_id`."""
        return self.namespace + caller_id

    def own_id(self, stored_id: str) -> str:
        """The caller's id for one of its stored ids."""
        if not stored_id.startswith(self.namespace):
            raise ValueError(f"{stored_id!r} is not an id of {self}")
        return stored_id.removeprefix(self.namespace)

    def message(
        self,
        text: str,
        conversation_id: str | None = None,
        user_id: str | None = None,
        channel: str = "api",
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """The engine's message for a turn this caller sent: its conversation (a new one when None) and customer
        (the caller itself when None) inside its namespace."""
        return Message(
            text=text,
            user_id=self.scoped(user_id) if user_id else str(self),
            conversation_id=self.scoped(conversation_id or new_conversation_id()),
            channel=channel,
            metadata=dict(metadata or {}),
        )

    def own_reply(self, reply: Reply) -> Reply:
        """`reply` as the caller sees it: with its own conversation id."""
        return replace(reply, conversation_id=self.own_id(reply.conversation_id))
