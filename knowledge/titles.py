"""`TitleIndex`: which things the knowledge base has a document of their own about, and which it only names.

A document's title names its subject (a venue, a product, a help topic). Other documents often name the same thing
inside their text: a hotel's page lists the restaurants nearby, a product page its accessories. The index keeps two
sets of names, built once from a snapshot's document titles and chunk texts:

- **titles**, each with the documents it is the title of;
- **names without a document**: the items of *entity lists* that are no title. A list is a line's items separated by
  `、` `,` `，` `;` `；` after an optional `label:` / `label：` prefix; it is an entity list when it has at least
  `MIN_LIST_ITEMS` items and at least half of them are titles: a list of things the knowledge base documents. Its
  other items are then things the knowledge base knows by name only (a venue without a page of its own that its
  neighbours' "nearby" lists still mention). An item a chunk boundary may have cut (the first of a chunk that does
  not start its document, the last of one that does not end it) is not read as a name.

Names are compared in a normal form (NFKC, case-folded, spaces collapsed; `knowledge.text.matching_form`), so
"（通州北苑店）" and "(通州北苑店)" are one name. `names_in(text)` finds both kinds in a text, leftmost-longest and
without overlaps (so "三里屯酒吧街" is found whole, not as the title "酒吧" inside it): names in scripts written
without spaces (Chinese) as substrings, names in spaced scripts (English) only at word boundaries, so "Billing" is
found in "billing questions" but not in "rebilling". The index knows nothing of chat; the answer policy asks it
whether the thing a conversation names has a document of its own (`bot.abstention`).

`TitleLookup` serves the index of a store's current snapshot, built on first use and again when the snapshot
changes (keyed by `KnowledgeStore.revision`, as the BM25 index is).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from knowledge.documents import Chunk
from knowledge.store import KnowledgeStore
from knowledge.text import matching_form

MIN_NAME_CHARS = 2
MAX_NAME_CHARS = 60
MIN_LIST_ITEMS = 3
_ITEM_SEPARATORS = re.compile(r"[、,，;；]")
_LABEL = re.compile(r"^[^:：]{1,20}[:：]")
_WORD_CHAR = re.compile(r"[A-Za-z0-9\u00c0-\u024f]")
_SPACES = re.compile(r"\s+")
_LIST_GAP = re.compile(r"[\s、,，;；]*(?:(?:and|&|和|及|与|以及)[\s]*)?")


def name_form(text: str) -> str:
    """The form names are compared in: NFKC, case-folded, runs of spaces as one space, trimmed."""
    return _SPACES.sub(" ", matching_form(text)).casefold().strip()


@dataclass(frozen=True)
class Name:
    """A name found in a text: a title (with its documents) or a thing named without a document of its own."""

    text: str
    document_ids: frozenset[str]
    start: int = 0
    """Where it starts in the text's name form (`name_form`), and where it ends."""
    end: int = 0

    @property
    def has_document(self) -> bool:
        return bool(self.document_ids)


def _is_name(form: str) -> bool:
    return MIN_NAME_CHARS <= len(form) <= MAX_NAME_CHARS and any(char.isalpha() for char in form)


def _list_lines(text: str, starts_document: bool, ends_document: bool) -> list[list[str]]:
    """Each line's items (in name form) when it has more than one. A chunk that does not start its document may
    start inside an item, one that does not end it may stop inside one: the first item of such a chunk's unlabelled
    first line and the last item of its last line are dropped."""
    lines = text.split("\n")
    found = []
    for position, line in enumerate(lines):
        labelled = _LABEL.match(line)
        items = _ITEM_SEPARATORS.split(line[labelled.end() :] if labelled else line)
        if position == 0 and not labelled and not starts_document:
            items = items[1:]
        if position == len(lines) - 1 and not ends_document:
            items = items[:-1]
        forms = [name_form(item) for item in items]
        if len(forms) > 1:
            found.append([form for form in forms if form])
    return found


@dataclass(frozen=True)
class TitleIndex:
    """Titles with their documents, and the names entity lists give without a document of their own."""

    titles: Mapping[str, frozenset[str]]
    named_only: frozenset[str] = frozenset()
    _by_prefix: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for form in sorted({*self.titles, *self.named_only}, key=len, reverse=True):
            self._by_prefix.setdefault(form[:MIN_NAME_CHARS], []).append(form)

    @classmethod
    def build(cls, titles: Mapping[str, str], chunks: Iterable[Chunk]) -> TitleIndex:
        """The index of documents titled `titles` (document id -> title) whose chunks are `chunks`, each document's
        in their order."""
        by_title: dict[str, set[str]] = {}
        for document_id, title in titles.items():
            form = name_form(title)
            if _is_name(form):
                by_title.setdefault(form, set()).add(document_id)
        ordered = list(chunks)
        first = {chunk.document_id: chunk.id for chunk in reversed(ordered)}
        last = {chunk.document_id: chunk.id for chunk in ordered}
        named_only: set[str] = set()
        for chunk in ordered:
            starts, ends = first[chunk.document_id] == chunk.id, last[chunk.document_id] == chunk.id
            for items in _list_lines(chunk.text, starts, ends):
                if len(items) >= MIN_LIST_ITEMS and 2 * sum(item in by_title for item in items) >= len(items):
                    named_only.update(item for item in items if item not in by_title and _is_name(item))
        return cls({form: frozenset(ids) for form, ids in by_title.items()}, frozenset(named_only))

    @classmethod
    def of_store(cls, store: KnowledgeStore) -> TitleIndex:
        titles = {document_id: row.title for document_id, row in store.documents().items()}
        return cls.build(titles, store.chunk_rows().values())

    def names_in(self, text: str) -> list[Name]:
        """The titles and document-less names `text` contains, in order, leftmost-longest, without overlaps."""
        form = name_form(text)
        found: list[Name] = []
        position = 0
        while position < len(form) - 1:
            match = self._longest_at(form, position)
            if match is None:
                position += 1
                continue
            found.append(Name(match, self.titles.get(match, frozenset()), position, position + len(match)))
            position += len(match)
        return found

    def _longest_at(self, form: str, position: int) -> str | None:
        for name in self._by_prefix.get(form[position : position + MIN_NAME_CHARS], ()):
            end = position + len(name)
            if form.startswith(name, position) and _at_boundaries(form, position, end):
                return name
        return None


def is_enumeration(text: str, names: Sequence[Name]) -> bool:
    """Whether `names` (found in `text`) are at least two, listed one after the other with only list separators
    between them ("A、B、C", "A, B and C"): a turn that lists things ("nearby are A, B") rather than picks one."""
    form = name_form(text)
    return len(names) >= 2 and all(
        _LIST_GAP.fullmatch(form[before.end : after.start]) for before, after in pairwise(names)
    )


def _at_boundaries(form: str, start: int, end: int) -> bool:
    """Whether form[start:end] does not cut a word of a spaced script at either end."""
    cuts_before = start > 0 and bool(_WORD_CHAR.match(form[start])) and bool(_WORD_CHAR.match(form[start - 1]))
    cuts_after = end < len(form) and bool(_WORD_CHAR.match(form[end - 1])) and bool(_WORD_CHAR.match(form[end]))
    return not cuts_before and not cuts_after


class TitleLookup:
    """The `TitleIndex` of the store `store_of()` returns now, rebuilt when its snapshot changes; None without one."""

    def __init__(self, store_of: Callable[[], KnowledgeStore | None]) -> None:
        self._store_of = store_of
        self._built: tuple[str | None, TitleIndex] | None = None
        self._lock = threading.Lock()

    def current(self) -> TitleIndex | None:
        store = self._store_of()
        if store is None:
            return None
        with self._lock:
            if self._built is None or self._built[0] != store.revision:
                self._built = (store.revision, TitleIndex.of_store(store))
            return self._built[1]
