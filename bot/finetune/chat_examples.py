"""Turn training pairs into token ids with the model's chat template; the loss is on the answer tokens only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.finetune.sources import TrainingPair

IGNORE_INDEX = -100


@dataclass(frozen=True)
class ChatExample:
    input_ids: list[int]
    labels: list[int]

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def conversation(pair: TrainingPair) -> list[dict[str, str]]:
    return [*({"role": m.role, "content": m.content} for m in pair.history), {"role": "user", "content": pair.question}]


def prompt_text(tokenizer: Any, pair: TrainingPair) -> str:
    """The prompt as the model sees it when serving: the chat template with the generation prompt."""
    return str(tokenizer.apply_chat_template(conversation(pair), tokenize=False, add_generation_prompt=True))


def encode_pair(tokenizer: Any, pair: TrainingPair, max_length: int) -> ChatExample | None:
    """Prompt + answer ids, labels masked on the prompt; None when the prompt alone fills `max_length`.

    A long answer is cut at `max_length`; a long history loses its oldest turns first.
    """
    while True:
        prompt = prompt_text(tokenizer, pair)
        full = str(
            tokenizer.apply_chat_template(
                [*conversation(pair), {"role": "assistant", "content": pair.answer}], tokenize=False
            )
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) < max_length - 8 or not pair.history:
            break
        pair = TrainingPair(pair.id, pair.question, pair.answer, pair.history[1:], pair.group, pair.relevant_ids)
    if len(prompt_ids) >= max_length - 8:
        return None
    answer_ids = tokenizer(full[len(prompt) :] if full.startswith(prompt) else pair.answer, add_special_tokens=False)[
        "input_ids"
    ]
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return ChatExample(ids, labels)


def encode_pairs(tokenizer: Any, pairs: Sequence[TrainingPair], max_length: int) -> tuple[list[ChatExample], int]:
    """Encoded examples and the number of pairs dropped because their prompt is longer than `max_length`."""
    examples = [encode_pair(tokenizer, pair, max_length) for pair in pairs]
    kept = [e for e in examples if e is not None]
    return kept, len(examples) - len(kept)
