"""The `Loader` protocol and the set of loaders that picks one by file suffix."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from knowledge.documents import Document
from knowledge.errors import DeskbotError, LoaderError

MAX_FILE_BYTES = 50 * 1024 * 1024


@runtime_checkable
class Loader(Protocol):
    """Turns one file into documents. `root` is the folder being ingested, for ids relative to it."""

    suffixes: tuple[str, ...]

    def load(self, path: Path, root: Path) -> Iterator[Document]: ...


def document_id_for(path: Path, root: Path) -> str:
    """A stable id for a file-backed document: its path below the ingested folder, without the suffix."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        relative = Path(path.name)
    return relative.with_suffix("").as_posix()


def read_text(path: Path) -> str:
    """Read a text file, refusing binary and oversized files with a clear message."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise LoaderError(f"{path}: cannot read ({error.strerror})") from error
    if size > MAX_FILE_BYTES:
        raise LoaderError(
            f"{path}: file is {size // (1024 * 1024)} MB, over the {MAX_FILE_BYTES // (1024 * 1024)} MB limit"
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise LoaderError(f"{path}: cannot read ({error.strerror})") from error
    if b"\x00" in raw[:8192]:
        raise LoaderError(f"{path}: looks like a binary file, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def json_lines(path: Path, error: type[DeskbotError] = LoaderError) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ("<file>, line N", object) for every non-blank line; a line that is not a JSON object raises `error`."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as decode_error:
            raise error(f"{where}: not valid JSON ({decode_error.msg})") from decode_error
        if not isinstance(record, dict):
            raise error(f"{where}: expected a JSON object")
        yield where, record


def file_metadata(path: Path) -> dict[str, str]:
    """What every file-backed document records: its modified time and format."""
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat(timespec="seconds")
    return {"modified": modified, "format": path.suffix.lower().lstrip(".")}


def file_document(path: Path, root: Path, title: str, text: str) -> Document:
    """A document backed by one file: id from its path below `root`, file metadata."""
    return Document(
        id=document_id_for(path, root), title=title, text=text, source=str(path.resolve()), metadata=file_metadata(path)
    )


class LoaderSet:
    """Chooses the loader for a file by its suffix and walks folders for loadable files."""

    def __init__(self, loaders: Mapping[str, Loader]) -> None:
        """Where two loaders take one suffix, the one with the higher `priority` attribute (default 0) wins."""
        self._by_suffix: dict[str, Loader] = {}
        for loader in loaders.values():
            for suffix in loader.suffixes:
                current = self._by_suffix.get(suffix.lower())
                if current is None or getattr(loader, "priority", 0) >= getattr(current, "priority", 0):
                    self._by_suffix[suffix.lower()] = loader

    @property
    def suffixes(self) -> frozenset[str]:
        return frozenset(self._by_suffix)

    def loader_for(self, path: Path) -> Loader:
        loader = self._by_suffix.get(path.suffix.lower())
        if loader is None:
            known = ", ".join(sorted(self._by_suffix))
            raise LoaderError(f"{path}: no loader for '{path.suffix or '(no suffix)'}' files (known: {known})")
        return loader

    def files_under(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
        """Yield (file, root) for every loadable file under `paths`; a missing path is an error."""
        for path in paths:
            if not path.exists():
                raise LoaderError(f"{path}: no such file or folder")
            if path.is_file():
                yield path, path.parent
                continue
            for candidate in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in candidate.relative_to(path).parts)
                if candidate.is_file() and not hidden and candidate.suffix.lower() in self._by_suffix:
                    yield candidate, path

    def load(self, path: Path, root: Path) -> list[Document]:
        return list(self.loader_for(path).load(path, root))
