"""Clean, scrub, de-duplicate and split training pairs; shared by the LoRA and the embedder trainers.

The split is by group (dialogue id, conversation id, FAQ group) so that paraphrases of one question or turns of one
dialogue never sit on both sides, and it is reproducible: groups are ordered by a hash of (seed, group).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from bot.finetune.errors import TrainingDataError
from bot.finetune.sources import SourceData, TrainingPair
from bot.pii import scrub_pii
from bot.types import ChatMessage

_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class SplitOptions:
    validation_fraction: float = 0.2
    seed: int = 13
    min_answer_chars: int = 2


@dataclass
class PreparedData:
    train: list[TrainingPair]
    validation: list[TrainingPair]
    format: str
    read: int
    dropped: Counter[str] = field(default_factory=Counter)
    pii_replacements: int = 0

    def summary(self) -> dict[str, Any]:
        """What was read, kept and dropped (and why); written next to every trained model."""
        return {
            "format": self.format,
            "read": self.read,
            "train": len(self.train),
            "validation": len(self.validation),
            "train_groups": len({p.group for p in self.train}),
            "validation_groups": len({p.group for p in self.validation}),
            "dropped": dict(self.dropped),
            "pii_replacements": self.pii_replacements,
        }


def clean_text(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks, strip the ends."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _dedupe_key(pair: TrainingPair) -> tuple[str, ...]:
    context = tuple(m.content.lower() for m in pair.history)
    return (*context, pair.question.lower(), pair.answer.lower())


def _group_order(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def prepare(source: SourceData, options: SplitOptions | None = None) -> PreparedData:
    """Cleaned, PII-scrubbed, de-duplicated pairs split into train and validation by group."""
    options = options or SplitOptions()
    dropped: Counter[str] = Counter(source.dropped)
    replacements = 0
    kept: list[TrainingPair] = []
    seen: set[tuple[str, ...]] = set()
    for pair in source.pairs:
        texts = [clean_text(pair.question), clean_text(pair.answer), *(clean_text(m.content) for m in pair.history)]
        scrubbed = [scrub_pii(text) for text in texts]
        replacements += sum(s.replaced for s in scrubbed)
        question, answer, *history = (s.text for s in scrubbed)
        if not question:
            dropped["empty question"] += 1
            continue
        if len(answer) < options.min_answer_chars:
            dropped["empty answer"] += 1
            continue
        cleaned = replace(
            pair,
            question=question,
            answer=answer,
            history=tuple(ChatMessage(m.role, text) for m, text in zip(pair.history, history, strict=True)),
            group=pair.group or pair.id,
        )
        key = _dedupe_key(cleaned)
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        kept.append(cleaned)
    if not kept:
        reasons = ", ".join(f"{count} {why}" for why, count in dropped.items()) or "no pairs"
        raise TrainingDataError(f"no usable training pairs after cleaning ({reasons})")
    groups = sorted({p.group for p in kept}, key=lambda g: _group_order(g, options.seed))
    held_out = 0 if len(groups) < 2 else max(1, math.floor(len(groups) * options.validation_fraction))
    validation_groups = set(groups[:held_out])
    return PreparedData(
        train=[p for p in kept if p.group not in validation_groups],
        validation=[p for p in kept if p.group in validation_groups],
        format=source.format,
        read=len(source.pairs) + sum(source.dropped.values()),
        dropped=dropped,
        pii_replacements=replacements,
    )
