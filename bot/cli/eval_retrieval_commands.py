"""`deskbot eval retrieval`: document-level recall, MRR, nDCG and latency of retrieval on a questions file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.console import err, out
from bot.cli.groups import eval_app
from bot.cli.main import KbOption, runtime


@eval_app.command("retrieval")
def retrieval(
    questions: Annotated[Path, typer.Option("--questions", help="Questions jsonl (see DESIGN.md, Data formats).")],
    kb: KbOption = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Documents ranked per question (at least 10).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Measure retrieval over the answerable items of a questions file (multi-turn items use the chat query path)."""
    from bot.evaluation.questions import load_questions
    from bot.evaluation.retrieval import RANKING_DEPTH, RetrievalEvaluator

    items = load_questions(questions)
    evaluator = RetrievalEvaluator(runtime(kb), depth=max(k, RANKING_DEPTH))
    if not as_json:
        err.print(f"evaluating {sum(q.answerable for q in items)} answerable of {len(items)} questions...")
    report = evaluator.evaluate(items).as_json()
    if as_json:
        out.print_json(json.dumps(report))
        return
    for key, value in report.items():
        out.print(f"{key:>16}  {value}")


def register(app: typer.Typer) -> None:
    """The command lives in the shared `eval` group; importing this module adds it."""
