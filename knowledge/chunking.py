"""Split documents into chunks that respect headings and fit the embedder's token limit.

Markdown headings start new chunks and become the chunk's `section`; a section longer than the limit is split
further on paragraph, line and sentence boundaries, measured in the embedder's own tokens (langchain-text-splitters).
The limit covers all the embedder reads (`Chunk.embedding_text()`: the title and section line, then the passage), so
a chunk fills the model's window without being cut off at its end.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from knowledge.documents import Chunk, Document

_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", "。", "！", "？", "；", ", ", "，", " ", ""]
"""Paragraphs, lines, sentences (Latin and full-width Chinese punctuation, which needs no space after it), clauses,
words, characters: a chunk is cut at the first of these that makes it fit."""

DEFAULT_CHUNK_TOKENS = 200
"""Measured best recall@5 on the dev sets; whole 254-token windows found fewer relevant documents (see docs)."""


class Chunker:
    def __init__(
        self, count_tokens: Callable[[str], int], max_tokens: int = DEFAULT_CHUNK_TOKENS, overlap_tokens: int = 24
    ) -> None:
        """`max_tokens` bounds a chunk's whole embedding text (heading line included, special tokens not)."""
        if max_tokens <= overlap_tokens:
            raise ValueError("max_tokens must be larger than overlap_tokens")
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self._count_tokens = count_tokens
        self._counts: dict[str, int] = {}
        self._headings = MarkdownHeaderTextSplitter(_HEADINGS, strip_headers=True)
        self._splitters: dict[int, RecursiveCharacterTextSplitter] = {}

    def split(self, document: Document) -> list[Chunk]:
        self._counts.clear()
        chunks: list[Chunk] = []
        for section_text, section in self._sections(document.text):
            heading = Chunk("", document.id, document.title, "", section=section).embedding_text()
            for raw_piece in self._pieces(section_text, self._text_budget(heading)):
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

    def _pieces(self, text: str, budget: int) -> list[str]:
        """The text whole when it fits (one tokenizer call), else split by the recursive splitter."""
        if self._counted(text) <= budget:
            return [text]
        return self._splitter(budget).split_text(text)

    def _counted(self, text: str) -> int:
        """`count_tokens`, remembered for the document being split: the splitter measures most pieces twice."""
        count = self._counts.get(text)
        if count is None:
            count = self._counts[text] = self._count_tokens(text)
        return count

    def _text_budget(self, heading: str) -> int:
        """Tokens left for the passage after the heading line; at least half the limit, so a long title still
        leaves room for text (the embedder then cuts the end of that chunk)."""
        used = self._counted(heading) if heading else 0
        return max(self.max_tokens - used, self.max_tokens // 2)

    def _splitter(self, budget: int) -> RecursiveCharacterTextSplitter:
        if budget not in self._splitters:
            self._splitters[budget] = RecursiveCharacterTextSplitter(
                chunk_size=budget,
                chunk_overlap=min(self.overlap_tokens, budget // 2),
                length_function=self._counted,
                separators=_SEPARATORS,
                keep_separator="end",
            )
        return self._splitters[budget]

    def _sections(self, text: str) -> list[tuple[str, str]]:
        if "#" not in text:
            return [(text, "")]
        sections = []
        for part in self._headings.split_text(text):
            path = [str(part.metadata[key]) for _, key in _HEADINGS if key in part.metadata]
            sections.append((part.page_content, " > ".join(path)))
        return sections or [(text, "")]
