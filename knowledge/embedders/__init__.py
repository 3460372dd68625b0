"""Embedders turn text into unit-length vectors; see `Embedder`."""

from knowledge.embedders.base import Embedder
from knowledge.embedders.hashing import HashEmbedder

__all__ = ["Embedder", "HashEmbedder"]
