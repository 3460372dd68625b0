"""Split documents into chunks that respect headings and fit the embedder's token limit.

Markdown headings start new chunks and become the chunk's `section`; a section longer than the limit is split
further on paragraph, line and sentence boundaries, measured in the embedder's own tokens (langchain-text-splitters).
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from knowledge.documents import Chunk, Document

_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


class Chunker:
    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int = 180, overlap_tokens: int = 24) -> None:
        if max_tokens <= overlap_tokens:
            raise ValueError("max_tokens must be larger than overlap_tokens")
        self._headings = MarkdownHeaderTextSplitter(_HEADINGS, strip_headers=True)
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=max_tokens,
            chunk_overlap=overlap_tokens,
            length_function=count_tokens,
            separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def split(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section_text, section in self._sections(document.text):
            for raw_piece in self._splitter.split_text(section_text):
                piece = raw_piece.strip()
                if not piece:
                    continue
                chunks.append(
                    Chunk(
                        id=f"{document.id}#{len(chunks)}",
                        document_id=document.id,
                        title=document.title,
                        text=piece,
                        source=document.source,
                        section=section,
                        metadata=document.metadata,
                    )
                )
        return chunks

    def _sections(self, text: str) -> list[tuple[str, str]]:
        if "#" not in text:
            return [(text, "")]
        sections = []
        for part in self._headings.split_text(text):
            path = [str(part.metadata[key]) for _, key in _HEADINGS if key in part.metadata]
            sections.append((part.page_content, " > ".join(path)))
        return sections or [(text, "")]
