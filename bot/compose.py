"""`Composer`: an answer made of the knowledge's own sentences, chosen for the question; nothing is generated.

The retrieved passages are cut into units (`knowledge.sentences`: sentences, list items, table rows, `field: value`
lines). Each unit is scored for the question by two signals already at hand:

- meaning: cosine similarity of the unit to the question under the knowledge base's own embedder (which is
  multilingual when the knowledge is), and
- words: the share of the question's topic words (`bot.terms`) the unit contains, so a unit naming what was asked
  about ("退款" / "refund", a field name such as 电话) beats a merely similar one. Topic words in the passage's
  title are left out: they chose the passage ("北京饭店", "Nimbus Thermo"), the rest of the question chooses the unit.
Between the units of one document each word counts by its rarity among the candidate units (smoothed inverse
frequency, `_rarity`), so a word most candidate units share ("thermostat" in a thermostat guide) weighs less than
the one word that tells them apart;

`score = similarity + lexical_weight * rare-word share`, plus what speaks for the unit's passage: `rank_weight * the
hit's retrieval score`, `bm25_weight * its BM25 score relative to the best BM25 score among the hits` (a passage
both retrievers rank high is more often the one asked about than one only similar in meaning) and `heading_weight *
the similarity of the passage's heading to the search query` (the question with what earlier turns referred to:
"这个景点" becomes the venue's name), so that the unit comes from the passage about what was asked (an article titled
with the customer's question, usually).

The answer comes from one document, chosen first: the one whose units score best when each unit's own evidence (its
similarity and plain word share) counts `unit_weight` (0.5) and what speaks for its passage counts whole. Units of
the same kind stand in every passage of a knowledge base of like documents (every venue has a "周边餐馆：" line, every
FAQ entry an answer sentence), so a unit's own similarity says more about which unit answers than about which
document is asked about; at full weight it chose another venue's line (crosswoz dev, 300 items: citation precision
0.733 at 1.0, 0.769 at 0.5). The best unit of that document's passages (by `score`, rare-word share and all) is the
answer's core. Counting words by rarity in the document choice too cost a crosswoz item (citation precision 0.755 ->
0.751) and mtrag_cloud_govt ROUGE-L (0.201 -> 0.196); in the unit choice alone it raised crosswoz_zh ROUGE-L 0.325
-> 0.359 (token F1 0.339 -> 0.372, 300 dev items) and left covid and mtrag as they were. When its passage is an FAQ
entry (its heading is a question, or its document is marked `faq`: `bot.stages.faq.is_faq_entry`), the answer is
that entry's answer from its start, as far as `faq_max_chars` allows - the curated answer to the question the
customer matched. Otherwise a unit that introduces a list (ends with ":") brings the list items after it; a unit too
short to stand alone brings its next unit; a table row brings its table's header row; further units of the same
passage join while they score within `keep_ratio` of the best and fit `max_units` / `max_chars`. The chosen units
are shown verbatim, in their passage's order, and the reply cites exactly the documents they came from. Headings (a
unit that repeats the passage's title or section), table rules and text the injection filter calls an instruction
(`bot.injection.instruction_like`) are never candidates, so a planted "ignore your rules and ..." in a document
cannot become the reply. The language is the knowledge's.

The units' and headings' vectors depend only on the passages, so they are embedded when the knowledge is indexed and
read from its snapshot (`knowledge.sentence_vectors.SentenceVectorLookup`; embedded here, once, for a snapshot that
lacks them); a turn embeds only the question (and the search query, which the embedder remembers from retrieval).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.config import AnswerSettings
from bot.injection import instruction_like
from bot.services import Services
from bot.stages.faq import is_faq_entry
from bot.stages.passages import Passage, citations_for, heading
from bot.terms import content_words, share_in
from bot.types import Reply, Turn
from knowledge.documents import SearchHit
from knowledge.embedders.base import Embedder
from knowledge.sentence_vectors import SentenceVectorLookup, heading_text
from knowledge.sentences import is_list_item, sentences
from knowledge.text import has_han

_HAS_WORD = re.compile(r"[^\W_]")
MIN_STANDALONE_CHARS = 25  # "Yes." / "电话：" alone says too little; its neighbour completes it


@dataclass(frozen=True)
class ComposeSettings:
    max_units: int = 2
    max_chars: int = 450
    lexical_weight: float = 0.5
    rank_weight: float = 0.2
    keep_ratio: float = 0.85
    heading_weight: float = 2.0  # dev ROUGE-L at 0 / 1 / 2: covid 0.37 / 0.50 / 0.58, crosswoz 0.31 / 0.34 / 0.34
    faq_max_chars: int = 700  # covid dev: ROUGE-L 0.454 at 450, 0.503 at 700 (its answers are whole FAQ entries)
    max_candidates: int = 32  # units embedded per reply, in passage order: bounds the latency of long passages
    unit_weight: float = 0.5  # a unit's own evidence when the document is chosen (module docstring)
    bm25_weight: float = 0.3  # citation precision / ROUGE-L of composed replies on the same dev hits, weight 0 -> 0.3:
    # covid 0.558 / 0.541 -> 0.610 / 0.568, mtrag 0.779 / 0.203 -> 0.779 / 0.205, crosswoz (150) 0.643 / 0.332 ->
    # 0.683 / 0.325; at 0.5 crosswoz 0.714 / 0.310, at 0.8 covid 0.584 / 0.545


@dataclass(frozen=True)
class Unit:
    text: str
    passage: int  # index of its hit among the candidates
    position: int  # index within its passage
    score: float = 0.0
    """What chooses the unit within its document: its passage's evidence, its similarity and its rare-word share."""
    document_score: float = 0.0
    """What it says for its document: its passage's evidence and `unit_weight` x (similarity + word share)."""


@dataclass(frozen=True)
class Composition:
    text: str
    passages: tuple[Passage, ...]
    """The passages the units came from, numbered in rank order: the reply's citations."""


def _evidence_hits(hits: Sequence[SearchHit], answer: AnswerSettings) -> list[SearchHit]:
    """The hits an answer may come from: the first `answer.max_passages` scoring at least `answer.min_score` (the
    best one when none does)."""
    top = hits[: answer.max_passages]
    return [hit for hit in top if hit.score >= answer.min_score] or list(top[:1])


def _focus(topic: Sequence[str], title: str) -> list[str]:
    """The topic words the passage's title does not already answer (all of them when it answers every one)."""
    lowered = title.lower()
    rest = [word for word in topic if word not in lowered]
    return rest or list(topic)


def _too_short(text: str) -> bool:
    return len(text) < (MIN_STANDALONE_CHARS // 3 if has_han(text) else MIN_STANDALONE_CHARS)


class Composer:
    def __init__(
        self,
        embedder: Embedder | None,
        settings: ComposeSettings | None = None,
        is_instruction: Callable[[str], bool] | None = None,
        sentence_vectors: SentenceVectorLookup | None = None,
    ) -> None:
        """`sentence_vectors`: where the units' and headings' vectors come from (else they are embedded each turn)."""
        self._embedder = embedder
        self._settings = settings or ComposeSettings()
        self._is_instruction = is_instruction or (lambda _text: False)
        self._sentence_vectors = sentence_vectors

    @classmethod
    def build(cls, services: Services) -> Composer:
        """The composer of the configured `[answer]` limits over the knowledge's embedder, skipping instructions,
        with the sentence vectors of the knowledge base's snapshot."""
        answer = services.settings.answer
        settings = ComposeSettings(max_units=answer.compose_max_units, max_chars=answer.compose_max_chars)
        embedder = services.embedder
        lookup = None
        if embedder is not None:
            lookup = SentenceVectorLookup(lambda: getattr(services.retriever, "store", None), embedder)
        return cls(embedder, settings, instruction_like, lookup)

    def warm_up(self) -> None:
        """Load the knowledge base's sentence vectors now rather than on the first turn."""
        if self._sentence_vectors is not None:
            self._sentence_vectors.warm_up()

    def document_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of units and headings: from the snapshot's sentence vectors, else embedded now."""
        if self._sentence_vectors is not None:
            return self._sentence_vectors.vectors(texts)
        assert self._embedder is not None
        return np.asarray(self._embedder.embed_documents(list(texts)), dtype=np.float32)

    def reply(self, turn: Turn, answer: AnswerSettings, corrected: bool = False) -> Reply | None:
        """The turn's composed reply, from its `_evidence_hits`, cited; None when they have no usable unit.
        `corrected`: it replaces a reply whose streamed text was withdrawn."""
        if not turn.hits:
            return None
        composition = self.compose(turn.message.text, _evidence_hits(turn.hits, answer), turn.query)
        if composition is None:
            return None
        return Reply(
            text=composition.text,
            citations=citations_for(composition.passages),
            kind="composed",
            conversation_id=turn.message.conversation_id,
            corrected=corrected,
        )

    def units(self, hits: Sequence[SearchHit]) -> list[Unit]:
        """Candidate units of the hits' passages, headings and instruction-like text left out."""
        found = []
        for number, hit in enumerate(hits):
            headings = {part.strip().lower() for part in (hit.chunk.title, hit.chunk.section, heading(hit)) if part}
            for position, text in enumerate(sentences(hit.chunk.text)):
                lowered = text.strip().lower().rstrip(":：")
                if lowered in headings or not _HAS_WORD.search(text) or self._is_instruction(text):
                    continue  # a heading, a table's |---| rule, an order to the model
                found.append(Unit(text, number, position))
        return found

    def score(self, question: str, units: list[Unit], hits: Sequence[SearchHit], query: str = "") -> list[Unit]:
        topic = [word.lower() for word in content_words(question)]
        focus = {index: _focus(topic, heading(hit)) for index, hit in enumerate(hits)}
        similarity = np.zeros(len(units), dtype=np.float32)
        heading_similarity = np.zeros(len(hits), dtype=np.float32)
        if self._embedder is not None and units:
            asked = np.asarray(self._embedder.embed_query(question), dtype=np.float32).reshape(-1)
            searched = asked
            if query and query != question:  # the search query names what earlier turns referred to
                searched = np.asarray(self._embedder.embed_query(query), dtype=np.float32).reshape(-1)
            texts = [unit.text for unit in units] + [heading_text(hit.chunk) for hit in hits]
            vectors = self.document_vectors(texts)
            similarity, heading_similarity = vectors[: len(units)] @ asked, vectors[len(units) :] @ searched
        weights = self._settings
        lexical = [hit.lexical_score or 0.0 for hit in hits]
        top_lexical = max(lexical, default=0.0) or 1.0
        passage = [
            weights.rank_weight * hit.score
            + weights.heading_weight * float(heading_similarity[index])
            + weights.bm25_weight * lexical[index] / top_lexical
            for index, hit in enumerate(hits)
        ]
        rarity = _rarity(topic, [unit.text for unit in units])
        scored = []
        for i, unit in enumerate(units):
            words, meaning = focus[unit.passage], float(similarity[i])
            own = meaning + weights.lexical_weight * share_in(words, unit.text)
            distinct = meaning + weights.lexical_weight * share_in(words, unit.text, rarity)
            scored.append(
                Unit(
                    unit.text,
                    unit.passage,
                    unit.position,
                    score=passage[unit.passage] + distinct,
                    document_score=passage[unit.passage] + weights.unit_weight * own,
                )
            )
        return scored

    def compose(self, question: str, hits: Sequence[SearchHit], query: str = "") -> Composition | None:
        """The best units of `hits` for `question`, verbatim, with the passages they came from; None when the
        passages have no usable unit. `query` is the search query the hits were found with (the question made
        self-contained by the rewrite stage): headings are compared with it."""
        scored = self.score(question, self.units(hits)[: self._settings.max_candidates], hits, query)
        if not scored:
            return None
        chosen = self._choose(scored, hits)
        return self._composition(chosen, hits)

    def _choose(self, scored: list[Unit], hits: Sequence[SearchHit]) -> list[Unit]:
        settings = self._settings
        document = self._best_document(scored, hits)
        best = max((unit for unit in scored if hits[unit.passage].chunk.document_id == document), key=_score)
        chosen = [best]
        in_passage = [unit for unit in scored if unit.passage == best.passage]
        if is_faq_entry(hits[best.passage]):
            return self._faq_answer(in_passage)
        following = [unit for unit in in_passage if unit.position > best.position]
        following.sort(key=lambda unit: unit.position)
        if best.text.rstrip().endswith((":", "：")):
            for unit in following:
                if not is_list_item(unit.text) or self._too_long([*chosen, unit]):
                    break
                chosen.append(unit)
        elif _too_short(best.text) and following and not self._too_long(chosen + following[:1]):
            chosen.append(following[0])
        texts = {unit.text for unit in chosen}
        for unit in sorted(in_passage, key=lambda u: u.score, reverse=True):
            if len(chosen) >= settings.max_units or unit.score < best.score * settings.keep_ratio:
                break
            if unit.text not in texts and not self._too_long([*chosen, unit]):
                chosen.append(unit)
                texts.add(unit.text)
        chosen.extend(_table_headers(chosen, in_passage, hits))
        return sorted(chosen, key=lambda unit: (unit.passage, unit.position))

    def _best_document(self, scored: list[Unit], hits: Sequence[SearchHit]) -> str:
        """The document the answer comes from: the one of the best `document_score`; the better-ranked of equals
        (units come in rank order)."""
        value: dict[str, float] = {}
        for unit in scored:
            document = hits[unit.passage].chunk.document_id
            value[document] = max(value.get(document, -math.inf), unit.document_score)
        return max(value, key=lambda document: value[document])

    def _faq_answer(self, in_passage: list[Unit]) -> list[Unit]:
        """An FAQ entry's answer, from its start, as much of it as fits `faq_max_chars` (its first unit at least)."""
        ordered = sorted(in_passage, key=lambda unit: unit.position)
        chosen = ordered[:1]
        for unit in ordered[1:]:
            if sum(len(part.text) + 1 for part in [*chosen, unit]) > self._settings.faq_max_chars:
                break
            chosen.append(unit)
        return chosen

    def _too_long(self, units: list[Unit]) -> bool:
        return sum(len(unit.text) + 1 for unit in units) > self._settings.max_chars

    @staticmethod
    def _composition(chosen: list[Unit], hits: Sequence[SearchHit]) -> Composition:
        numbers: dict[int, int] = {}
        for unit in chosen:
            numbers.setdefault(unit.passage, len(numbers) + 1)
        passages = tuple(
            Passage(number, heading(hits[index]), hits[index].chunk.text, hits[index])
            for index, number in numbers.items()
        )
        pieces: list[str] = []
        for before, unit in zip([None, *chosen], chosen, strict=False):
            if before is not None:
                pieces.append(_joiner(before, unit, hits))
            pieces.append(unit.text)
        return Composition("".join(pieces), passages)


def _rarity(words: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Each word's smoothed inverse frequency among `texts` (the candidate units): log((n + 1) / (df + 1)) + 1."""
    lowered = [text.lower() for text in texts]
    return {
        word: math.log((len(lowered) + 1) / (sum(1 for text in lowered if word in text) + 1)) + 1.0 for word in words
    }


def _score(unit: Unit) -> float:
    return unit.score


def _table_headers(chosen: list[Unit], in_passage: list[Unit], hits: Sequence[SearchHit]) -> list[Unit]:
    """The header row of each table a chosen row belongs to, when it is not chosen already: a row reads only with
    its column names."""
    by_text = {unit.text: unit for unit in in_passage}
    headers: list[Unit] = []
    for unit in chosen:
        if not unit.text.startswith("|"):
            continue
        lines = [line.strip() for line in hits[unit.passage].chunk.text.splitlines()]
        row = lines.index(unit.text) if unit.text in lines else 0
        while row > 0 and lines[row - 1].startswith("|"):
            row -= 1
        header = by_text.get(lines[row])
        if header is not None and header not in chosen and header not in headers:
            headers.append(header)
    return headers


def _joiner(before: Unit, unit: Unit, hits: Sequence[SearchHit]) -> str:
    """A line break between units that stand on lines of their own (list items, table rows, field lines) or come
    from different passages; else the space of running text (none between Chinese sentences)."""
    lines = {line.strip() for line in hits[unit.passage].chunk.text.splitlines()}
    if unit.passage != before.passage or unit.text in lines or is_list_item(unit.text):
        return "\n"
    return "" if has_han(unit.text) else " "
