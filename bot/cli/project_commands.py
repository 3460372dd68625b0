"""`deskbot init`: scaffold a project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.console import err

CONFIG_TEMPLATE = """\
# Deskbot configuration. Every key can be overridden by an environment variable
# DESKBOT_<SECTION>__<KEY>, e.g. DESKBOT_LLM__MODEL=HuggingFaceTB/SmolLM2-360M-Instruct.

[knowledge]
path = "knowledge"            # your help-centre documents (md, txt, jsonl); indexed on start
top_k = 4                     # passages retrieved per question

[llm]
backend = "auto"              # llama.cpp for the embedded GGUF when installed, else Hugging Face transformers
model = "smollm2"             # the embedded default; or a Hugging Face id, a folder, a .gguf file
max_new_tokens = 32           # most tokens of a reply
max_sentences = 2             # a reply ends after this many complete sentences (0: only max_new_tokens ends it)

[answer]
mode = "auto"                 # compose (the articles' own sentences), generate (the model writes, claims checked);
                              # auto composes with a small local model such as the embedded one
policy = "model"              # when to answer: the shipped abstention model, or "thresholds" (min_coverage ...)
min_score = 0.32              # below this retrieval score the bot says it does not know and offers a person
max_context_tokens = 200       # passages given to the model, in its tokens (time to first token grows with it)

[prompts]
directory = "prompts"         # templates here override the shipped ones, file by file

[logging]
format = "text"               # or "json": one object a line, with request and conversation ids (docs/deploy.md)
"""

WELCOME_DOC = """\
# Welcome to your help centre

Put your help-centre articles and FAQs in this folder as Markdown, text or jsonl files.
Deskbot indexes them when it starts and answers customers' questions from them, citing the article it used.

## How do I add an article?
Save a new `.md` file here whose first line is `# Title`, then restart `deskbot chat` or run `deskbot ingest knowledge`.
"""


def init(directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path(".")) -> None:
    """Scaffold deskbot.toml, a knowledge/ folder and prompt overrides."""
    from prompts import SHIPPED_DIR

    config = directory / "deskbot.toml"
    if config.exists():
        err.print(f"[bold red]error:[/] {config} already exists; not overwriting it")
        raise typer.Exit(1)
    (directory / "knowledge").mkdir(parents=True, exist_ok=True)
    (directory / "prompts").mkdir(exist_ok=True)
    config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    welcome = directory / "knowledge" / "welcome.md"
    if not welcome.exists():
        welcome.write_text(WELCOME_DOC, encoding="utf-8")
    for name in ("system.j2", "answer.j2"):
        target = directory / "prompts" / name
        if not target.exists():
            target.write_text((SHIPPED_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    err.print(
        f"Created {config}, {directory / 'knowledge'}/ and {directory / 'prompts'}/. "
        f"Next: cd {directory} && deskbot chat"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
