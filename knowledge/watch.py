"""`watch_and_sync`: keep a knowledge base in sync with folders and files while they change (watchfiles).

Files are watched through their folder (editors often save by replacing the file). Each batch of file-system
changes (debounced by watchfiles, so saving ten files is one sync) runs one
`KnowledgeWriter.sync` of the watched paths with pruning inside them: an edited file is re-indexed, a new one
added, and a deleted one's documents are removed from the index at once, so they are never served again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from knowledge.errors import KnowledgeError
from knowledge.reports import SyncReport
from knowledge.writer import KnowledgeWriter


def watch_and_sync(
    writer: KnowledgeWriter,
    paths: Sequence[Path],
    on_sync: Callable[[SyncReport], None],
    stop: threading.Event | None = None,
    debounce_ms: int = 500,
    deduplicate: bool = False,
) -> None:
    """Sync `paths` after every batch of changes under them, until `stop` is set (or Ctrl-C)."""
    try:
        import watchfiles
    except ImportError as error:
        raise KnowledgeError("--watch needs watchfiles: pip install 'deskbot[watch]'") from error
    watched = [path.resolve() for path in paths]
    folders = [path for path in watched if path.is_dir()]
    files = {path for path in watched if not path.is_dir()}
    suffixes = writer.loaders.suffixes if writer.loaders is not None else frozenset()

    def loadable(_change: object, name: str) -> bool:
        """A change to a watched file, or to a loadable, not hidden file in a watched folder (not the index)."""
        path = Path(name)
        if path in files:
            return True
        if path.suffix.lower() not in suffixes:
            return False
        for folder in folders:
            if path.is_relative_to(folder):
                return not any(part.startswith(".") for part in path.relative_to(folder).parts)
        return False

    roots = sorted({*folders, *(path.parent for path in files)})
    for _changes in watchfiles.watch(
        *roots, watch_filter=loadable, debounce=debounce_ms, stop_event=stop, raise_interrupt=False
    ):
        present = [path for path in watched if path.exists()]
        on_sync(writer.sync(present, prune=True, prune_scope=watched, deduplicate=deduplicate))
