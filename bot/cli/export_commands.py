"""`deskbot export conversations`: stored conversations as jsonl, for review and fine-tuning."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.console import err
from bot.cli.groups import export_app
from bot.cli.main import fail, settings


def conversations(
    output: Annotated[Path, typer.Option("--output", "-o", help="jsonl file to write (replaced atomically).")],
    rated_only: Annotated[
        bool, typer.Option("--rated-only", help="Only conversations with at least one rated answer.")
    ] = False,
) -> None:
    """Write one conversation per line: ids, channel, start time, and messages with ratings and citations."""
    from bot.store.conversations import SqlConversationStore

    if not output.parent.exists():
        fail(f"{output.parent}: folder does not exist")
    store = SqlConversationStore.from_settings(settings())
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as handle:
            for record in store.export(rated_only=rated_only):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    err.print(f"exported {count} conversations to {output}")


def register(app: typer.Typer) -> None:
    export_app.command("conversations")(conversations)
