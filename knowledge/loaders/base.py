"""The `Loader` protocol, the set of loaders that picks one by file suffix, and the checks every file passes.

`LoaderSet.load` refuses a file over its size limit (`[knowledge] max_file_mb`) before any loader reads it, so every
loader, built-in or plugin, inherits the limit. `read_text` is how text loaders read a file: strict UTF-8, or
Windows-1252 for legacy files when the result reads like Western text; anything else (NUL bytes, more than 1% control
characters, bytes that are neither encoding) is refused as binary, never decoded blindly.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from knowledge.documents import Document
from knowledge.errors import DeskbotError, LoaderError

MAX_FILE_BYTES = 50 * 1024 * 1024
"""The most `read_text` reads at all (question and training files too); ingest's own limit is `LoaderSet`'s."""
DEFAULT_MAX_INGEST_BYTES = 20 * 1024 * 1024
"""`[knowledge] max_file_mb`'s default: the largest file `LoaderSet.load` reads."""
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")
_MAX_CONTROL_SHARE = 0.01
_MAX_LEGACY_NON_ASCII_SHARE = 0.3
"""Western text in Windows-1252 is mostly ASCII; binary bytes decoded as Windows-1252 are about half non-ASCII."""


@runtime_checkable
class Loader(Protocol):
    """Turns one file into documents. `root` is the folder being ingested, for ids relative to it."""

    suffixes: tuple[str, ...]

    def load(self, path: Path, root: Path) -> Iterator[Document]: ...


def document_id_for(path: Path, root: Path) -> str:
    """A stable id for a file-backed document: its path below the ingested folder, without the suffix."""
    return _below(path, root).with_suffix("").as_posix()


def source_for(path: Path, root: Path) -> str:
    """The public `source` of a file-backed document: its path below the ingested folder (`billing/refunds.md`),
    never the server's absolute path, which citations would show to every API client."""
    return _below(path, root).as_posix()


def _below(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return Path(path.name)


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
    return decode_text(path, raw)


def decode_text(path: Path, raw: bytes) -> str:
    """`raw` as text: UTF-8 (a BOM is dropped), else Windows-1252 when that reads like Western text; binary refused."""
    if b"\x00" in raw[:8192]:
        raise LoaderError(f"{path}: looks like a binary file, not text (it has NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        text = _legacy_text(path, raw, utf8_error)
    sample = text[:65536]
    controls = sum(1 for char in sample if unicodedata.category(char) == "Cc" and char not in _TEXT_CONTROLS)
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise LoaderError(
            f"{path}: looks like a binary file, not text ({controls / len(sample):.0%} control characters)"
        )
    return text


def _legacy_text(path: Path, raw: bytes, utf8_error: UnicodeDecodeError) -> str:
    where = f"byte 0x{raw[utf8_error.start]:02x} at offset {utf8_error.start}"
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    sample = text[:65536]
    if not sample or sum(1 for char in sample if not char.isascii()) / len(sample) > _MAX_LEGACY_NON_ASCII_SHARE:
        raise LoaderError(f"{path}: looks like a binary file, not text (not UTF-8: {where}); save text as UTF-8")
    return text


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
        id=document_id_for(path, root),
        title=title,
        text=text,
        source=source_for(path, root),
        metadata=file_metadata(path),
    )


class LoaderSet:
    """Chooses the loader for a file by its suffix and walks folders for loadable files."""

    def __init__(self, loaders: Mapping[str, Loader], max_file_bytes: int = DEFAULT_MAX_INGEST_BYTES) -> None:
        """Where two loaders take one suffix, the one with the higher `priority` attribute (default 0) wins."""
        self.max_file_bytes = max_file_bytes
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
        """The documents of one file; a file over `max_file_bytes` is refused before its loader reads it."""
        loader = self.loader_for(path)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise LoaderError(f"{path}: cannot read ({error.strerror})") from error
        if size > self.max_file_bytes:
            raise LoaderError(
                f"{path}: file is {size / 2**20:.3g} MB, over the {self.max_file_bytes / 2**20:.3g} MB limit "
                "(split it, or raise [knowledge] max_file_mb)"
            )
        return list(loader.load(path, root))
