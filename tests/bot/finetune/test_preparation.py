import pytest

from bot.finetune.errors import TrainingDataError
from bot.finetune.preparation import SplitOptions, clean_text, prepare
from bot.finetune.sources import SourceData, TrainingPair


def _pairs(groups: int, per_group: int = 2) -> list[TrainingPair]:
    return [
        TrainingPair(id=f"{g}-{i}", question=f"question {g} {i}?", answer=f"answer {g}", group=f"g{g}")
        for g in range(groups)
        for i in range(per_group)
    ]


def test_cleaning_dedupe_and_pii_are_counted() -> None:
    pairs = [
        TrainingPair("a", "  How   do I pay? ", "Write to billing@example.com", group="1"),
        TrainingPair("b", "How do I pay?", "Write to billing@example.com", group="2"),
        TrainingPair("c", "   ", "Something", group="3"),
        TrainingPair("d", "Why?", "", group="4"),
        TrainingPair("e", "What?", "That.", group="5"),
    ]
    prepared = prepare(SourceData(pairs, "questions"))
    kept = prepared.train + prepared.validation
    assert sorted(p.question for p in kept) == ["How do I pay?", "What?"]
    assert any(p.answer == "Write to [EMAIL]" for p in kept)
    assert prepared.dropped == {"duplicate": 1, "empty question": 1, "empty answer": 1}
    assert prepared.summary()["read"] == 5


def test_split_is_by_group_and_reproducible() -> None:
    source = SourceData(_pairs(20), "questions")
    first = prepare(source, SplitOptions(validation_fraction=0.25, seed=1))
    again = prepare(source, SplitOptions(validation_fraction=0.25, seed=1))
    other = prepare(source, SplitOptions(validation_fraction=0.25, seed=2))
    assert [p.id for p in first.validation] == [p.id for p in again.validation]
    assert {p.group for p in first.validation} != {p.group for p in other.validation}
    assert len({p.group for p in first.validation}) == 5
    assert not {p.group for p in first.train} & {p.group for p in first.validation}


def test_nothing_usable_is_an_error() -> None:
    with pytest.raises(TrainingDataError, match="no usable training pairs"):
        prepare(SourceData([TrainingPair("a", "", "x")], "questions"))


def test_clean_text_keeps_paragraphs() -> None:
    assert clean_text(" a  b \n\n\n\n c ") == "a b\n\nc"
