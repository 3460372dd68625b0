"""`cited_documents`: the title and public source of the knowledge documents a stored reply cited.

The store records a reply's citations as document ids only; the console and the widget's history show them as the
chat showed them, from the engine's knowledge base (`ChannelContext.knowledge`), once the engine has loaded. A
document no longer in the index, or one asked for while the engine is still loading, is left out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from adapters.http.context import ChannelContext
from bot.presentation import public_source


@dataclass(frozen=True)
class CitedDocument:
    id: str
    title: str
    source: str
    """Its public source (`bot.presentation.public_source`): a URL, or a path below its folder."""


def cited_documents(context: ChannelContext, doc_ids: Collection[str]) -> dict[str, CitedDocument]:
    """The documents of `doc_ids` still in the index, by id (blocking: call it in a thread)."""
    if context.knowledge is None or not context.responder.ready or not doc_ids:
        return {}
    store = context.knowledge().store
    found = {}
    for doc_id in doc_ids:
        row = store.document(doc_id)
        if row is not None:
            found[doc_id] = CitedDocument(doc_id, row.title, public_source(row.source))
    return found
