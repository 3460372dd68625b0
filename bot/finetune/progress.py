"""Training progress: steps go to a `(phase, done, total)` callback (the CLI's progress bar), not to stdout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[[str, int, int], None]


def progress_callback(progress: Progress, phase: str = "training") -> Any:
    from transformers import TrainerCallback

    class ReportSteps(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress(phase, int(state.global_step), int(state.max_steps))

    return ReportSteps()


def quiet_trainer(trainer: Any, progress: Progress, phase: str = "training") -> Any:
    """`trainer` reporting to `progress` instead of printing a dict per logged step (its tqdm bar is disabled)."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(progress_callback(progress, phase))
    return trainer
