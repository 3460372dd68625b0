"""`deskbot eval answers`: replay a questions file through the answer pipeline and score the replies."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.console import err, out, progress_bar
from bot.cli.groups import eval_app
from bot.cli.main import KbOption, fail, runtime


def answers(
    questions: Annotated[Path, typer.Option("--questions", help="Questions jsonl (DESIGN.md format).")],
    kb: KbOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report with plots here.")] = None,
) -> None:
    """ROUGE-L, BLEU, abstention precision/recall/F1, citation precision, time to first token, latency, perplexity."""
    from bot.evaluation.answers import ANSWER_ROLES, answer_all, document_texts, held_out_perplexity, summarise
    from bot.evaluation.questions import load_questions

    items = load_questions(questions, limit)
    rt = runtime(kb)

    async def run() -> list[Any]:
        engine = rt.engine(roles=ANSWER_ROLES, given=frozenset({"history"}))
        await engine.warm_up()
        with progress_bar() as update:
            return await answer_all(
                engine,
                items,
                lambda done, total: update("answering", done, total),  # type: ignore[operator]
                document_texts(rt.knowledge(sync=False).store),
            )

    results = asyncio.run(run())
    summary: dict[str, Any] = summarise(results)
    summary["perplexity"] = held_out_perplexity(rt.llm(), items)
    if report is not None:
        from bot.evaluation.answer_report import write_report

        if report.exists() and not report.is_dir():
            fail(f"{report}: not a folder")
        page = write_report(report, summary, results, f"Answer evaluation: {questions.name}")
        err.print(f"report written to {page}")
    if as_json:
        print(json.dumps(summary))
        return
    for key, value in summary.items():
        if key == "by_kind":
            for kind, scores in value.items():
                out.print(f"  {kind:18s} " + "  ".join(f"{name} {number}" for name, number in scores.items()))
            continue
        out.print(f"{key:20s} {value}")


def register(app: typer.Typer) -> None:
    eval_app.command("answers")(answers)
