"""`CuratedKnowledge`: keeps the knowledge index in step with the curated answers, so the FAQ stage serves them.

Each curated answer (`bot.store.curated_answers`) is an FAQ document in the index: id `curated-<n>`, its question as
the title (what the embedder and BM25 read with the text, so a customer asking that question finds it first), the
operator's answer as the text, source `curated` and `doc_type: faq` in its metadata, so `FaqStage` returns the text
verbatim once it is the best hit at `[answer] faq_min_score` or above. Documents of origin `curated` are Deskbot's
own: a file sync (`deskbot ingest --prune`) never removes them.

`sync` is one reconciliation through `KnowledgeWriter.sync_documents` (one snapshot, under the index's lock): every
curated answer is loaded, unchanged ones are skipped by their content hash, and every `curated` document without an
answer any more is removed. Adding, editing and deleting an answer all end in the same call, and so does
`deskbot kb rebuild`: the store, not the documents folder, is the record of the curated answers, so a rebuild that
had to read the folder again (no intact manifest left) would lose them; the same sync afterwards puts them back (and
skips them when the manifest kept them).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.store.curated_answers import CuratedAnswer, CuratedAnswers
from knowledge.documents import Document
from knowledge.manifest import DocumentRow
from knowledge.reports import SyncReport
from knowledge.writer import KnowledgeWriter

CURATED_ORIGIN = "curated"
CURATED_SOURCE = "curated"


def curated_document_id(answer_id: int) -> str:
    return f"curated-{answer_id}"


def curated_document(answer: CuratedAnswer) -> Document:
    return Document(
        id=curated_document_id(answer.id),
        title=answer.question,
        text=answer.answer,
        source=CURATED_SOURCE,
        metadata={"doc_type": "faq", "curated_by": answer.operator},
    )


class CuratedKnowledge:
    def __init__(self, answers: CuratedAnswers, writer: KnowledgeWriter) -> None:
        self._answers = answers
        self._writer = writer

    def sync(self) -> SyncReport:
        """Bring the index's curated documents in line with the curated answers (blocking: it may embed)."""

        def read(
            stored: Mapping[str, DocumentRow], _report: SyncReport
        ) -> tuple[dict[str, tuple[Document, str]], set[str]]:
            answers = self._answers.all()  # read under the index's lock, so two syncs cannot undo each other
            loaded = {curated_document_id(a.id): (curated_document(a), CURATED_ORIGIN) for a in answers}
            gone = {doc_id for doc_id, row in stored.items() if row.origin == CURATED_ORIGIN and doc_id not in loaded}
            return loaded, gone

        return self._writer.sync_documents(read)
