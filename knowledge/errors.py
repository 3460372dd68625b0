"""The root of Deskbot's error hierarchy, and the knowledge layer's errors.

`DeskbotError` lives in the lowest layer so that every layer can raise and catch one family of errors; a
`DeskbotError`'s message is written for the user: what went wrong, where, and how to fix it.
"""


class DeskbotError(Exception):
    """An expected failure, with a message fit to show a user in one line."""


class KnowledgeError(DeskbotError):
    """The knowledge base cannot be read, written or searched as asked."""


class LoaderError(KnowledgeError):
    """A document file cannot be loaded (missing, unreadable, malformed)."""


class IndexCorruptError(KnowledgeError):
    """The saved index is damaged or was built with another embedder; `deskbot kb rebuild` fixes it."""
