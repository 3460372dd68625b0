"""Precision choice of `SentenceTransformerEmbedder`: what `auto` picks, how it shows in the name, and the vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.documents import Document
from knowledge.embedders import HashEmbedder
from knowledge.embedders import sentence_transformer as module
from knowledge.embedders.sentence_transformer import (
    SentenceTransformerEmbedder,
    cpu_has_native_bfloat16,
    resolve_precision,
)
from knowledge.errors import IndexCorruptError, KnowledgeError


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 {flags}\n\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flags", "native"), [("avx2 avx512f", False), ("avx512f avx512_bf16", True), ("amx_bf16", True)]
)
def test_native_bfloat16_is_read_from_cpu_flags(tmp_path: Path, flags: str, native: bool) -> None:
    assert cpu_has_native_bfloat16(cpuinfo(tmp_path, flags)) is native


def test_no_cpuinfo_means_no_native_bfloat16(tmp_path: Path) -> None:
    assert cpu_has_native_bfloat16(tmp_path / "missing") is False


@pytest.mark.parametrize("native", [True, False])
def test_auto_picks_bfloat16_only_on_a_cpu_that_has_it(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(module, "cpu_has_native_bfloat16", lambda: native)
    assert resolve_precision("auto", None) == ("bfloat16" if native else "float32")
    assert resolve_precision("auto", "cuda") == "float32"
    assert resolve_precision("float32", None) == "float32"
    assert resolve_precision("bfloat16", "cuda") == "bfloat16"


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(KnowledgeError, match="unknown embedder precision 'int4'"):
        resolve_precision("int4", None)


def test_precision_is_part_of_the_name_without_loading_the_model() -> None:
    assert SentenceTransformerEmbedder(precision="float32").name == "all-MiniLM-L6-v2"
    assert SentenceTransformerEmbedder(precision="bfloat16").name == "all-MiniLM-L6-v2@bfloat16"
    assert SentenceTransformerEmbedder(model="org/other", precision="bfloat16").name == "org/other@bfloat16"


class RenamedEmbedder(HashEmbedder):
    """HashEmbedder vectors under another name, as the same model in another precision would be."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    @property
    def name(self) -> str:
        return self._name


def test_index_built_in_another_precision_is_a_mismatch(tmp_path: Path) -> None:
    KnowledgeBase(tmp_path / "kb", RenamedEmbedder("all-MiniLM-L6-v2")).writer.add_documents(
        [Document("a", "A", "text")]
    )
    with pytest.raises(IndexCorruptError, match=r"kb rebuild.*embedder_precision"):
        KnowledgeBase(tmp_path / "kb", RenamedEmbedder("all-MiniLM-L6-v2@bfloat16"))
    with pytest.raises(IndexCorruptError, match=r"kb rebuild`$"):
        KnowledgeBase(tmp_path / "kb", RenamedEmbedder("other-model"))


@pytest.mark.slow
def test_bfloat16_vectors_match_float32_ones() -> None:
    texts = ["Refunds reach your card within five days.", "Our office is in Leipzig. " * 40, "reset password"]
    exact = SentenceTransformerEmbedder(precision="float32").embed_documents(texts)
    fast = SentenceTransformerEmbedder(precision="bfloat16").embed_documents(texts)
    assert fast.dtype == np.float32 and fast.shape == exact.shape
    assert np.all(np.sum(exact * fast, axis=1) > 0.999)


@pytest.mark.slow
def test_token_count_ignores_the_truncation_that_encoding_switches_on() -> None:
    embedder = SentenceTransformerEmbedder(precision="float32")
    tokenizer = embedder._loaded().tokenizer
    long_text = "Refunds take five days. " * 100
    embedder.embed_documents([long_text])  # encodes with truncation to the model's window
    for text in (long_text, "Refunds take five days."):
        expected = len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
        assert embedder.count_tokens(text) == expected
    assert embedder.count_tokens(long_text) > 500
