"""Shared terminal output for CLI commands: messages and progress go to stderr, results to stdout."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar() -> Iterator[object]:
    """A callback `(phase, done, total)` that drives one rich progress bar per phase."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total, rate="")
            task = progress.tasks[tasks[phase]]
            rate = f"{done / task.elapsed:,.0f}/s" if task.elapsed else ""
            progress.update(tasks[phase], completed=done, total=total, rate=rate)

        yield update
