"""A small help centre indexed with HashEmbedder, for the retrievers' tests."""

from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders.hashing import HashEmbedder

DOCUMENTS = [
    Document("locked", "Account locked", "If sign-in fails with code QX-7731 your account is locked for an hour."),
    Document("password", "Reset your password", "Open settings, choose security and reset the password."),
    Document("billing", "Invoices", "Invoices are emailed monthly.", metadata={"team": "billing"}),
    Document("refunds", "Refunds", "Refunds reach your card within five days.", metadata={"team": "billing"}),
    Document(
        "long",
        "Long guide",
        "\n\n".join(f"## Part {i}\n\nThe password policy part {i} explains password rules." for i in range(6)),
    ),
]


@pytest.fixture
def knowledge(tmp_path: Path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "kb", HashEmbedder())
    kb.writer.add_documents(DOCUMENTS)
    return kb
