"""`deskbot`: the command line. Expected failures print one line and exit non-zero; `--json` prints one object."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from bot.cli.console import err
from knowledge.errors import DeskbotError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime

app = typer.Typer(
    name="deskbot",
    help="Customer-service chat bots that answer from your own help centre, with citations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="deskbot.toml to use (default: ./deskbot.toml).")]
KbOption = Annotated[
    Path | None, typer.Option("--kb", help="Knowledge folder (default: knowledge.path, else the sample).")
]


class CliState:
    config: Path | None = None
    verbose: bool = False
    sample: str | None = None


state = CliState()


def _print_version(requested: bool) -> None:
    if requested:
        import bot

        typer.echo(f"deskbot {bot.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens to stderr.")] = False,
    sample: Annotated[
        str | None,
        typer.Option("--sample", help="Shipped sample help centre when no knowledge folder is set: en or zh (中文)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print Deskbot's version and exit."),
    ] = False,
) -> None:
    from knowledge.samples import SAMPLE_DIRS

    if sample is not None and sample not in SAMPLE_DIRS:
        fail(f"--sample {sample}: no such sample (there are: {', '.join(SAMPLE_DIRS)})")
    state.config = config
    state.verbose = verbose
    state.sample = sample
    _configure_logging(verbose)


def _configure_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        for noisy in ("transformers", "sentence_transformers", "httpx", "faiss"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


def settings(kb: Path | None = None, **llm: Any) -> Settings:
    from bot.config import load_settings
    from bot.logging_setup import configure_logging

    loaded = load_settings(state.config)
    configure_logging(loaded.logging, logging.INFO if state.verbose else logging.WARNING)
    if state.sample is not None:
        loaded.knowledge.sample = state.sample  # type: ignore[assignment]  # checked against SAMPLE_DIRS above
    if kb is not None:
        loaded.knowledge.path = kb.expanduser().resolve()
        loaded.knowledge.index_dir = None
    for key, value in llm.items():
        if value is not None:
            setattr(loaded.llm, key, value)
    return loaded


def runtime(kb: Path | None = None, **llm: Any) -> Runtime:
    from bot.runtime import Runtime

    return Runtime(settings(kb, **llm))


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


def _register_commands() -> None:
    """Every command module is a `deskbot.commands` entry point whose object is `register(app)`.

    Built-in commands register the same way a third-party package would; a group (`kb`, `eval`, ...) is shown only
    when some module added a command to it.
    """
    import importlib.metadata

    from bot.cli.groups import GROUPS

    entry_points = sorted(importlib.metadata.entry_points(group="deskbot.commands"), key=lambda ep: ep.name)
    for entry_point in entry_points:
        try:
            register = entry_point.load()
        except ImportError as error:
            logging.getLogger(__name__).warning("command plugin %s not loaded: %s", entry_point.name, error)
            continue
        register(app)
    for name, group in GROUPS.items():
        if group.registered_commands:
            app.add_typer(group, name=name)


_register_commands()


def run() -> None:
    """Console-script entry point: a `DeskbotError` becomes one clear line and exit status 1."""
    try:
        app()
    except DeskbotError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
