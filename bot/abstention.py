"""The abstention model: how likely a turn's retrieved passages hold its answer, from evidence that reads the same
whatever the language, the embedder or the knowledge base.

`evidence(message, hits, max_passages, query, score_reference, history, titles)` measures a turn. Topic words come
from `bot.terms` (Chinese is segmented), sentences from `knowledge.sentences`; "found" means found as a substring, as
in `coverage`.

- `coverage`: share of the message's topic words found in the top `max_passages` passages together;
- `passage_coverage`: the same share in the best single passage (title, section and text), so that words scattered
  over unrelated passages do not add up to an answer;
- `sentence_coverage`: the same share in the best single sentence of those passages, the strength of an answer span;
- `query_coverage`: share of the search query's topic words (the message plus what the rewrite carried over from
  earlier turns) found in the best single passage;
- `title_in_query`: share of the best hit's title words found in the query: whether the passage is about the thing
  the conversation names (a hotel, a product) - the thing is often named turns earlier and missing from the
  knowledge base when the question cannot be answered;
- `dense_first`, `lexical_first`: whether dense similarity and BM25 each rank the best hit first among the hits;
- `dense_margin`: how far the best hit's cosine stands above the other hits', as a share of the hits' cosine range;
- `relative_score`: the best hit's cosine, standardised by the mean and spread of best-hit cosines recorded for the
  embedder (`score_references`; e5 cosines crowd near 0.9, MiniLM's spread from 0.2 to 0.8); 0, the typical
  value, for an embedder without a reference;
- `sentence_similarity`: the best single sentence's dense similarity to the message: the highest cosine, under the
  knowledge's own embedder, of the message to a sentence of the top passages (`answer_spans`: the first
  `MAX_SPANS`, as the composer reads them), standardised by the embedder's score reference as `relative_score` is;
  0 without an embedder (`SentenceSimilarity`) or a reference. A passage on the right topic that lacks the asked
  fact ("how much is IAM?" over IAM's overview) matches as a whole but has no sentence close to the question;
- `distinct_documents`: share of the hits that come from different documents;
- `topic_words`: how many topic words the message has (capped at 8, over 8): "thank you!" has none;
- `subject_without_document`: share of the conversation's *subject* names that the knowledge base only names inside
  other documents and has no document of its own (`knowledge.titles`: items of lists of titles that are no title).
  The subject is what the latest text that names anything names: the message, else the history's turns newest
  first (the last `SUBJECT_TURNS`), so "its phone number?" after "try the Hotel Gloria" is about the Hotel Gloria.
  A question about a thing held out of the knowledge base finds a confident passage that merely mentions it
  ("周边酒店：…、北京鹏润国际大酒店、…" for "这家酒店是什么类型的？" after "推荐您去北京鹏润国际大酒店"). It is 0 when
  nothing is named or no title index is given: the typical value of English help centres, whose lists are seldom
  lists of titles;
- `unintroduced_reference`, `answer_type_missing`, `asks_nothing`: readings of the message that no passage answers
  as asked (`bot.question_focus`: "this X" with nothing named before, an asked price, time or count that no
  sentence of the top passages has, a closer such as "Thank you!"). A model file lists them in `declines`: each,
  when present, declines the turn whatever P(answerable) is. The policy computes only those its model reads, and the
  two that need no passage (`message_evidence`: the reference, the closer) before any other evidence.

`AbstentionModel` is a logistic regression over standardised evidence, fitted by `fit` (Newton's method with an L2
penalty: deterministic, numpy only) and shipped as JSON with its provenance (`bot/abstention_model.json`, written by
`benchmarks/calibrate_answer_policy.py --fit`). `AbstentionPolicy` is what the answer stage asks: it answers when no
evidence of `declines` is present and P(the passages hold the answer) reaches `answer.min_answer_probability`, else
the model file's calibrated threshold.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import AnswerSettings
from bot.errors import ConfigError
from bot.question_focus import answer_type_missing, asks_nothing, unintroduced_reference
from bot.terms import content_words, share_in
from knowledge.documents import SearchHit
from knowledge.embedders.base import Embedder
from knowledge.sentences import sentences
from knowledge.titles import Name, TitleIndex, is_enumeration

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).with_name("abstention_model.json")
UNLIKELY = "unlikely"  # `AbstentionPolicy.why_not`: P(answerable) below the threshold
TOPIC_WORDS_CAP = 8
SUBJECT_TURNS = 6
MAX_SPANS = 32  # sentences compared with the message per turn (the composer's `max_candidates`): bounds the cost


@dataclass(frozen=True)
class Evidence:
    """What the passages of one turn say about whether they answer it (see the module docstring)."""

    coverage: float = 0.0
    passage_coverage: float = 0.0
    sentence_coverage: float = 0.0
    query_coverage: float = 0.0
    title_in_query: float = 0.0
    dense_first: float = 0.0
    lexical_first: float = 0.0
    dense_margin: float = 0.0
    relative_score: float = 0.0
    sentence_similarity: float = 0.0
    distinct_documents: float = 0.0
    topic_words: float = 0.0
    subject_without_document: float = 0.0
    unintroduced_reference: float = 0.0
    answer_type_missing: float = 0.0
    asks_nothing: float = 0.0

    def values(self, names: Sequence[str]) -> list[float]:
        return [float(getattr(self, name)) for name in names]


EVIDENCE_NAMES = tuple(f.name for f in fields(Evidence))


def answer_spans(hits: Sequence[SearchHit], max_passages: int) -> list[str]:
    """The sentences of the top `max_passages` hits that an answer could be made of, in order, the first `MAX_SPANS`."""
    return [span for hit in hits[:max_passages] for span in sentences(hit.chunk.text)][:MAX_SPANS]


SentenceCosines = Callable[[str, Sequence[str]], Sequence[float]]
"""A message's cosines to sentences (`SentenceSimilarity.cosines`, or cosines recorded for a benchmark)."""


class SentenceSimilarity:
    """Cosines of a message to sentences under the knowledge's embedder: the message as a query, the sentences as
    documents. `vectors` gives the sentences' rows (`embedder.embed_documents` unless it is given a reader of
    vectors kept with the index), so the cost of a turn is one query embedding and the sentences not yet known."""

    def __init__(self, embedder: Embedder, vectors: Callable[[Sequence[str]], np.ndarray] | None = None) -> None:
        self._embedder = embedder
        self._vectors = vectors or embedder.embed_documents

    def cosines(self, message: str, spans: Sequence[str]) -> list[float]:
        if not spans:
            return []
        asked = np.asarray(self._embedder.embed_query(message), dtype=np.float32).reshape(-1)
        rows = np.asarray(self._vectors(list(spans)), dtype=np.float32)
        return [float(value) for value in rows @ asked]


def _lower_words(text: str) -> list[str]:
    return [word.lower() for word in content_words(text)]


def subject(message: str, history: Sequence[str], titles: TitleIndex) -> list[Name]:
    """The names of what the conversation is about: those in the message, else in the latest of the last
    `SUBJECT_TURNS` turns of `history` (oldest first) that names anything and is no enumeration ("nearby are A,
    B and C" answers a question about the thing named before)."""
    names = titles.names_in(message)
    if names:
        return names
    for text in reversed(history[-SUBJECT_TURNS:]):
        names = titles.names_in(text)
        if names and not is_enumeration(text, names):
            return names
    return []


def _relative(cosine: float, reference: tuple[float, float] | None) -> float:
    return (cosine - reference[0]) / reference[1] if reference else 0.0


def _without_document(names: Sequence[Name]) -> float:
    return sum(not name.has_document for name in names) / len(names) if names else 0.0


QUESTION_READINGS = frozenset({"unintroduced_reference", "answer_type_missing", "asks_nothing"})
"""The evidence `bot.question_focus` reads; `evidence` computes those of them it is asked for (`readings`)."""
MESSAGE_READINGS = frozenset({"unintroduced_reference", "asks_nothing"})
"""The readings the message and the history show alone, without any passage (`message_evidence`)."""


def message_evidence(
    message: str,
    history: Sequence[str] = (),
    titles: TitleIndex | None = None,
    readings: Collection[str] = QUESTION_READINGS,
) -> Evidence:
    """What the message shows before any retrieval: its topic words and, of `readings`, a reference nothing
    introduced (with the `history` and the `titles`) and a closer."""
    words = _lower_words(message)
    return Evidence(
        topic_words=min(len(words), TOPIC_WORDS_CAP) / TOPIC_WORDS_CAP,
        unintroduced_reference=(
            unintroduced_reference(message, history, titles) if "unintroduced_reference" in readings else 0.0
        ),
        asks_nothing=asks_nothing(message) if "asks_nothing" in readings else 0.0,
    )


def evidence(
    message: str,
    hits: Sequence[SearchHit],
    max_passages: int,
    query: str = "",
    score_reference: tuple[float, float] | None = None,
    history: Sequence[str] = (),
    titles: TitleIndex | None = None,
    sentence_cosines: Sequence[float] = (),
    readings: Collection[str] = QUESTION_READINGS,
) -> Evidence:
    """The evidence of `hits` (in rank order) for `message` and its search `query` (the message when empty);
    `score_reference` is the embedder's (mean, spread) of best-hit cosines; `history` the earlier turns' texts
    (oldest first) and `titles` the knowledge base's title index, for the subject evidence; `sentence_cosines` the
    message's cosines to `answer_spans(hits, max_passages)` (`SentenceSimilarity`), none when not measured;
    `readings` the question readings to compute (`QUESTION_READINGS`; the others stay 0)."""
    asked = message_evidence(message, history, titles, readings)
    words = _lower_words(message)
    if not hits or not words:
        return asked
    query = query or message
    top = hits[:max_passages]
    passages = [hit.chunk.embedding_text() for hit in top]
    spans = [span for hit in top for span in sentences(hit.chunk.text)]
    best, others = hits[0], hits[1:]
    cosines = [hit.score for hit in hits]
    spread = max(cosines) - min(cosines)
    lexical = [hit.lexical_score for hit in hits if hit.lexical_score is not None]
    query_words = _lower_words(query)
    names = subject(message, history, titles) if titles is not None else []
    return replace(
        asked,
        answer_type_missing=answer_type_missing(message, spans) if "answer_type_missing" in readings else 0.0,
        coverage=share_in(words, " ".join(passages)),
        passage_coverage=max(share_in(words, passage) for passage in passages),
        sentence_coverage=max((share_in(words, span) for span in spans), default=0.0),
        query_coverage=max(share_in(query_words, passage) for passage in passages),
        title_in_query=share_in(_lower_words(best.chunk.title), query),
        dense_first=float(best.score >= max(cosines)),
        lexical_first=float(best.lexical_score is not None and best.lexical_score >= max(lexical)),
        dense_margin=(best.score - max(hit.score for hit in others)) / spread if others and spread > 0 else 0.0,
        relative_score=_relative(best.score, score_reference),
        sentence_similarity=_relative(max(sentence_cosines), score_reference) if sentence_cosines else 0.0,
        distinct_documents=len({hit.chunk.document_id for hit in hits}) / len(hits),
        subject_without_document=_without_document(names),
    )


@dataclass(frozen=True)
class AbstentionModel:
    """P(answerable) = sigmoid(bias + sum(weight * (value - mean) / scale)) over the named evidence."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    min_answer_probability: float
    score_references: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    declines: tuple[str, ...] = ()
    """Evidence that declines a turn whatever its P(answerable), when over 0.5 (`unintroduced_reference`)."""

    def __post_init__(self) -> None:
        unknown = [name for name in (*self.features, *self.declines) if name not in EVIDENCE_NAMES]
        if unknown:
            raise ValueError(f"unknown evidence {unknown}; known: {', '.join(EVIDENCE_NAMES)}")
        if len({len(self.features), len(self.means), len(self.scales), len(self.weights)}) != 1:
            raise ValueError("features, means, scales and weights must have one entry per feature")
        if not all(scale > 0 for scale in self.scales):
            raise ValueError("scales must be positive")
        if not all(spread > 0 for _, spread in self.score_references.values()):
            raise ValueError("score reference spreads must be positive")
        if not 0.0 <= self.min_answer_probability <= 1.0:
            raise ValueError("min_answer_probability must be between 0 and 1")

    def score_reference(self, embedder_model: str) -> tuple[float, float] | None:
        """The recorded (mean, spread) of best-hit cosines for `embedder_model` (a name, id or path)."""
        return self.score_references.get(embedder_model) or self.score_references.get(Path(embedder_model).name)

    def declined_by(self, found: Evidence) -> str | None:
        """The first evidence of `declines` that is present (it declines the turn outright), else None."""
        present = zip(self.declines, found.values(self.declines), strict=True)
        return next((name for name, value in present if value > 0.5), None)

    def declined(self, found: Evidence) -> bool:
        """Whether evidence that declines outright (`declines`) is present."""
        return self.declined_by(found) is not None

    def answerable(self, found: Evidence) -> float:
        """P(answerable) of a turn with this evidence."""
        terms = zip(found.values(self.features), self.means, self.scales, self.weights, strict=True)
        z = self.bias + sum(weight * (value - mean) / scale for value, mean, scale, weight in terms)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def to_json(self) -> str:
        record = asdict(self)
        record["score_references"] = {name: list(pair) for name, pair in self.score_references.items()}
        record["provenance"] = dict(self.provenance)
        return json.dumps(record, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> AbstentionModel:
        """The model in `path`; a missing, unreadable or malformed file raises `ConfigError` naming it."""
        where = f"answer.abstention_model ({path})"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConfigError(f"{where}: file not found") from error
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"{where}: not a readable JSON file ({error})") from error
        try:
            references = record.get("score_references") or {}
            return cls(
                features=tuple(str(name) for name in record["features"]),
                means=tuple(float(value) for value in record["means"]),
                scales=tuple(float(value) for value in record["scales"]),
                weights=tuple(float(value) for value in record["weights"]),
                bias=float(record["bias"]),
                min_answer_probability=float(record["min_answer_probability"]),
                score_references={str(name): (float(pair[0]), float(pair[1])) for name, pair in references.items()},
                provenance=dict(record.get("provenance") or {}),
                declines=tuple(str(name) for name in record.get("declines") or ()),
            )
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
            raise ConfigError(f"{where}: not an abstention model ({type(error).__name__}: {error})") from error


def fit(
    rows: Sequence[Evidence],
    answerable: Sequence[bool],
    sample_weights: Sequence[float],
    features: Sequence[str] = EVIDENCE_NAMES,
    l2: float = 1.0,
    iterations: int = 100,
) -> AbstentionModel:
    """Weighted logistic regression of `answerable` on standardised evidence, by Newton's method with an L2 penalty
    of `l2` on the weights (not the bias). Deterministic: the same rows give the same model. Its threshold is 0.5;
    the caller calibrates it."""
    x = np.array([row.values(features) for row in rows], dtype=float)
    y = np.array(answerable, dtype=float)
    w = np.array(sample_weights, dtype=float)
    w = w / w.sum() * len(w)
    means = np.average(x, axis=0, weights=w)
    scales = np.sqrt(np.average((x - means) ** 2, axis=0, weights=w))
    scales[scales < 1e-6] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    penalty = np.diag([0.0] + [l2] * len(features))
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        gradient = design.T @ (w * (p - y)) + penalty @ beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + penalty + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return AbstentionModel(
        features=tuple(features),
        means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales),
        weights=tuple(float(v) for v in beta[1:]),
        bias=float(beta[0]),
        min_answer_probability=0.5,
    )


class AbstentionPolicy:
    """`answer.policy = "model"`: answer when the model's P(answerable) reaches the threshold. `titles` gives the
    knowledge base's current title index (`knowledge.titles.TitleLookup.current`) for the subject evidence and
    `similarity` the message's cosines to sentences, measured only when the model reads them."""

    def __init__(
        self,
        model: AbstentionModel,
        threshold: float,
        max_passages: int,
        embedder_model: str,
        titles: Callable[[], TitleIndex | None] = lambda: None,
        similarity: SentenceCosines | None = None,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self._max_passages = max_passages
        self._titles = titles
        self._similarity = similarity if "sentence_similarity" in model.features else None
        self._readings = QUESTION_READINGS & {*model.features, *model.declines}
        self._score_reference = model.score_reference(embedder_model)
        if self._score_reference is None and {"relative_score", "sentence_similarity"} & set(model.features):
            log.info(
                "the abstention model has no score reference for embedder %s; its scores count as typical",
                embedder_model,
            )

    @classmethod
    def from_settings(
        cls,
        answer: AnswerSettings,
        embedder_model: str,
        titles: Callable[[], TitleIndex | None] = lambda: None,
        similarity: SentenceCosines | None = None,
    ) -> AbstentionPolicy:
        model = AbstentionModel.load(answer.abstention_model or SHIPPED_MODEL)
        threshold = answer.min_answer_probability
        chosen = model.min_answer_probability if threshold is None else threshold
        return cls(model, chosen, answer.max_passages, embedder_model, titles, similarity)

    def warm_up(self) -> None:
        """Build the knowledge base's title index now rather than on the first turn."""
        self._titles()

    def evidence(
        self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[str] = ()
    ) -> Evidence:
        cosines: Sequence[float] = ()
        if self._similarity is not None and hits:
            cosines = self._similarity(message, answer_spans(hits, self._max_passages))
        return evidence(
            message,
            hits,
            self._max_passages,
            query,
            self._score_reference,
            history,
            self._titles(),
            cosines,
            self._readings,
        )

    def answerable(
        self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[str] = ()
    ) -> float:
        return self.model.answerable(self.evidence(message, hits, query, history))

    def grounded(self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[str] = ()) -> bool:
        return self.why_not(message, hits, query, history) is None

    def declined_by_message(self, message: str, history: Sequence[str] = ()) -> str | None:
        """The decline of the model's `declines` that the message shows without any passage (`MESSAGE_READINGS`:
        a reference nothing introduced, a closer), else None: read before retrieval's evidence is weighed, so that
        such a turn gets its own reply even when no passage is kept."""
        readings = self._readings & MESSAGE_READINGS
        if not readings:
            return None
        return self.model.declined_by(message_evidence(message, history, self._titles(), readings))

    def why_not(
        self, message: str, hits: Sequence[SearchHit], query: str = "", history: Sequence[str] = ()
    ) -> str | None:
        """Why the passages do not answer the message: the name of the evidence that declines it outright, or
        `UNLIKELY` (P(answerable) below the threshold); None when they answer it."""
        found = self.evidence(message, hits, query, history)
        declined_by = self.model.declined_by(found)
        if declined_by is not None:
            return declined_by
        return None if self.model.answerable(found) >= self.threshold else UNLIKELY
