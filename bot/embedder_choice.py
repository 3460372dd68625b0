"""Which embedder `[knowledge] embedder = "auto"` (the default) uses for a knowledge base.

An index keeps the embedder that built it: when the index folder already holds a snapshot, its recorded embedder
name (`index_facts.embedder`) says which plugin and model to open it with; a set `[knowledge] embedder_model`
says it too (the plugin that runs that model). Otherwise a new index is built with the
multilingual e5 embedder when most of its documents (by detected language, `knowledge.text.language_of`; documents
without letters do not count) are not English, else with the English MiniLM default, which is smaller and about
10 times faster to index. A setting other than "auto" is used as it is.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import IndexCorruptError, LoaderError
from knowledge.loaders.base import LoaderSet
from knowledge.manifest import read_index_facts
from knowledge.snapshots import MANIFEST, SnapshotStore
from knowledge.text import UNDETERMINED
from knowledge.writer import recorded_metadata

log = logging.getLogger(__name__)

AUTO = "auto"
MAX_SAMPLED_DOCUMENTS = 500
"""Documents read to decide a new index's embedder: enough to tell a help centre's language, cheap to load."""


@dataclass(frozen=True)
class EmbedderChoice:
    plugin: str
    """The `deskbot.embedders` entry point."""
    model: str | None
    """Its `model` argument; None: the plugin's own default."""
    reason: str


def recorded_embedder(index_dir: Path) -> str | None:
    """The embedder name the index in `index_dir` was built with; None when there is no index yet.

    It is the live snapshot's, or, when the index is damaged, that of the snapshot `deskbot kb rebuild` would recover
    from (`SnapshotStore.recovery_candidates`), so that loading reports the damage and the rebuild keeps the embedder.
    """
    if not index_dir.is_dir():
        return None
    for snapshot in SnapshotStore(index_dir).recovery_candidates():
        try:
            embedder = read_index_facts(snapshot / MANIFEST).get("embedder")
        except IndexCorruptError:
            continue
        if embedder:
            return embedder
    return None


def choice_for_model(name: str, reason: str) -> EmbedderChoice:
    """The plugin that runs the model `name` (a model name, or an index's recorded embedder name such as
    `multilingual-e5-small@q4`): e5 for e5 models, hash for `hash-N`, sentence-transformers for anything else."""
    model = name.partition("@")[0]
    if model.startswith("multilingual-e5"):
        return EmbedderChoice("e5", model, reason)
    if model.startswith("hash-"):
        return EmbedderChoice("hash", model, reason)
    return EmbedderChoice("sentence-transformers", model, reason)


def document_languages(loaders: LoaderSet, paths: Sequence[Path], limit: int = MAX_SAMPLED_DOCUMENTS) -> Counter[str]:
    """Documents per detected language among the first `limit` documents under `paths` (unreadable files skipped)."""
    counts: Counter[str] = Counter()
    for path, root in loaders.files_under([p for p in paths if p.exists()]):
        try:
            for document in loaders.load(path, root):
                counts[str(recorded_metadata(document)["language"])] += 1
                if sum(counts.values()) >= limit:
                    return counts
        except LoaderError as error:  # the sync itself reports it
            log.debug("%s not read for the language count: %s", path, error)
    return counts


def choice_for_languages(counts: Counter[str]) -> EmbedderChoice:
    """MiniLM when English documents are at least half of those with a language, else multilingual e5."""
    counted = {language: n for language, n in counts.items() if language != UNDETERMINED}
    total = sum(counted.values())
    english = counted.get("en", 0)
    summary = ", ".join(f"{n} {language}" for language, n in Counter(counted).most_common()) or "no documents"
    if total and english * 2 < total:
        return EmbedderChoice("e5", "multilingual-e5-small", f"most documents are not English ({summary})")
    return EmbedderChoice("sentence-transformers", "all-MiniLM-L6-v2", f"an English knowledge base ({summary})")
