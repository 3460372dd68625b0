"""Checkpoints of a training run live in OUTPUT/checkpoints; `--resume` continues from the newest one."""

from __future__ import annotations

from pathlib import Path

from bot.finetune.errors import FinetuneError


def checkpoints_dir(output_dir: Path) -> Path:
    return output_dir / "checkpoints"


def last_checkpoint(output_dir: Path) -> str:
    """The newest checkpoint folder under OUTPUT/checkpoints, or a `FinetuneError` saying there is none."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = checkpoints_dir(output_dir)
    found = get_last_checkpoint(str(folder)) if folder.is_dir() else None  # type: ignore[no-untyped-call]
    if found is None:
        raise FinetuneError(f"{folder}: no checkpoint to resume from (run without --resume first)")
    return str(found)
