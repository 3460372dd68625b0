"""`Chunker`: headings start chunks, and every chunk's whole embedding text fits the token limit."""

from __future__ import annotations

import itertools

import pytest

from knowledge.chunking import Chunker
from knowledge.documents import Document
from knowledge.embedders import HashEmbedder

count_tokens = HashEmbedder().count_tokens


def sentences(count: int, word: str = "word") -> str:
    return " ".join(f"{word}{i} {word}{i}b {word}{i}c {word}{i}d {word}{i}e." for i in range(count))


def test_short_document_is_one_chunk() -> None:
    chunks = Chunker(count_tokens, max_tokens=64).split(Document("d", "Returns", "Return items within 30 days."))
    assert [c.text for c in chunks] == ["Return items within 30 days."]
    assert chunks[0].id == "d#0" and chunks[0].section == ""


@pytest.mark.parametrize("title", ["Returns", "A much longer title about returns, refunds and exchanges in stores"])
def test_embedding_text_with_its_heading_fits_the_limit(title: str) -> None:
    chunker = Chunker(count_tokens, max_tokens=64, overlap_tokens=8)
    chunks = chunker.split(Document("d", title, sentences(60)))
    assert len(chunks) > 4
    assert all(count_tokens(c.embedding_text()) <= 64 for c in chunks)
    # chunks are full: all but the last use most of the window
    assert all(count_tokens(c.embedding_text()) >= 48 for c in chunks[:-1])


def test_long_title_still_leaves_half_the_limit_for_text() -> None:
    title = " ".join(f"t{i}" for i in range(100))
    chunks = Chunker(count_tokens, max_tokens=64, overlap_tokens=8).split(Document("d", title, sentences(40)))
    assert all(count_tokens(c.text) <= 32 for c in chunks)
    assert all(count_tokens(c.text) >= 16 for c in chunks[:-1])


def test_neighbouring_chunks_overlap() -> None:
    chunks = Chunker(count_tokens, max_tokens=64, overlap_tokens=12).split(Document("d", "", sentences(30)))
    for first, second in itertools.pairwise(chunks):
        assert first.text.split()[-1] in second.text


def test_headings_start_chunks_and_name_the_section() -> None:
    text = "# Shipping\n\nThree days.\n\n## Abroad\n\nTen days.\n\n# Returns\n\n30 days."
    chunks = Chunker(count_tokens, max_tokens=64).split(Document("d", "Help", text))
    assert [(c.section, c.text) for c in chunks] == [
        ("Shipping", "Three days."),
        ("Shipping > Abroad", "Ten days."),
        ("Returns", "30 days."),
    ]
    assert chunks[1].embedding_text() == "Help - Shipping > Abroad\nTen days."


def test_limit_must_leave_room_beyond_the_overlap() -> None:
    with pytest.raises(ValueError, match="larger than overlap"):
        Chunker(count_tokens, max_tokens=20, overlap_tokens=20)


def test_each_distinct_piece_is_counted_once_per_document() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return count_tokens(text)

    Chunker(counting, max_tokens=64, overlap_tokens=8).split(Document("d", "Title", sentences(60)))
    assert calls and len(calls) == len(set(calls))


def test_chinese_text_is_cut_at_sentence_ends_without_spaces() -> None:
    from knowledge.chunking import Chunker
    from knowledge.documents import Document

    sentences = [f"第{n}条：退款会在{n}个工作日内退回原支付账户。" for n in range(1, 40)]
    document = Document("refunds", "退款政策", "".join(sentences))
    chunks = Chunker(len, max_tokens=120, overlap_tokens=0).split(document)
    assert len(chunks) > 1
    assert all(chunk.text.endswith("。") for chunk in chunks[:-1]), [chunk.text[-5:] for chunk in chunks]


@pytest.mark.slow
def test_a_200k_character_chinese_line_is_chunked_in_bounded_time_and_memory() -> None:
    """No space, no sentence end: the splitter falls back to characters, jieba reads each piece; both stay linear."""
    import resource
    import time

    line = ("营业时间退款政策配送范围保修期限" * 12_500)[:200_000]
    chunker = Chunker(count_tokens, max_tokens=200)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    chunks = chunker.split(Document("long", "长行", line))
    seconds = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert seconds < 120 and grown_mb < 500, (seconds, grown_mb)
    assert len(chunks) > 500 and all(count_tokens(chunk.embedding_text()) <= 200 for chunk in chunks)
    covered = "".join(chunk.text for chunk in chunks)
    assert len(covered) >= len(line), "nothing of the line is lost (overlap repeats some)"


def test_mixed_script_emoji_and_full_width_text_is_chunked_whole() -> None:
    text = "Nimbus Thermo ＮＴ－３００ 👍 支持 Wi-Fi，价格１９９欧元。😀 Привет! " * 40
    chunks = Chunker(count_tokens, max_tokens=60).split(Document("mixed", "混合", text))
    assert len(chunks) > 1 and all(count_tokens(chunk.embedding_text()) <= 60 for chunk in chunks)
    assert "ＮＴ－３００" in chunks[0].text, "stored text keeps its full-width forms"
