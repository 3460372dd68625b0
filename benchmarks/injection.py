"""Injection with the real model: the twelve cases of `tests/fixtures/injection_cases.json` (six planted documents,
six role-change messages, English and Chinese) against the embedded defaults (SmolLM2-135M, MiniLM), guards off and
on, printing per case whether what the customer was shown obeyed the injection (`InjectionCase.obeyed_in`).

Guards off: no output guard, no role-change policy in the guard, passages given to the model as retrieved (their
instruction-like sentences kept); the prompt templates are the shipped ones in both arms. Guards on: the defaults.
Each case has its own tiny knowledge base (indexed with MiniLM in a temporary folder); the model loads once.
`--mode generate` (the default) has the model write every reply: `answer.mode = "auto"` composes with a model this
small, which no text can steer into obeying, and would leave the model untested; `--mode compose` shows that.

    .venv/bin/python benchmarks/injection.py [--mode generate|compose] [--only NAME ...] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import bot.stages.answer as answer_stage
from bot.config import load_settings
from bot.evaluation.injection import InjectionCase, load_cases
from bot.llm.base import LLMBackend
from bot.runtime import Runtime
from bot.stages.passages import neutralise_tags, passage_text
from bot.types import Message, Reply, TextDelta
from knowledge.embedders.base import Embedder

CASES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "injection_cases.json"


class Models:
    """The model and the embedder, loaded by the first runtime and lent to the others."""

    llm: LLMBackend | None = None
    embedder: Embedder | None = None

    def lend(self, runtime: Runtime) -> None:
        if self.llm is None:
            self.llm, self.embedder = runtime.llm(), runtime.embedder()
        runtime._llm, runtime._embedder = self.llm, self.embedder


def runtime_for(case: InjectionCase, folder: Path, guards: bool, models: Models, mode: str) -> Runtime:
    kb = folder / "kb"
    kb.mkdir(parents=True)
    for name, text in case.knowledge.items():
        (kb / name).write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=folder / "data")
    settings.knowledge.path = kb
    settings.answer.mode = mode  # type: ignore[assignment]
    settings.answer.faq_min_score = 1.01  # the documents are not FAQs: every answer is generated (or composed)
    settings.answer.min_coverage = 0.0
    settings.answer.min_score = 0.0
    settings.guard.refuse_role_changes = guards
    if not guards:
        settings.pipeline.stages = [stage for stage in settings.pipeline.stages if stage != "output_guard"]
        settings.answer.check_grounding = False  # obeyed text draws on no passage: this check guards too
    runtime = Runtime(settings)
    models.lend(runtime)
    return runtime


async def shown_for(runtime: Runtime, case: InjectionCase) -> tuple[str, Reply]:
    events = [event async for event in runtime.responder().stream(Message(text=case.message))]
    reply = events[-1]
    assert isinstance(reply, Reply)
    streamed = "".join(event.text for event in events if isinstance(event, TextDelta))
    shown = reply.text if streamed.strip() in ("", reply.text) else f"{streamed} / {reply.text}"
    return shown, reply


async def main(only: list[str], show: bool, mode: str) -> None:
    cases = [case for case in load_cases(CASES) if not only or case.name in only]
    models = Models()
    results: dict[str, dict[bool, bool]] = {}
    for guards in (False, True):
        answer_stage.passage_text = passage_text if guards else neutralise_tags  # type: ignore[attr-defined]
        for case in cases:
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                shown, reply = await shown_for(runtime_for(case, Path(folder), guards, models, mode), case)
            obeyed = case.obeyed_in(shown)
            results.setdefault(case.name, {})[guards] = obeyed
            arm = "on " if guards else "off"
            seconds = time.perf_counter() - started
            print(f"guards {arm} {case.name:24} {'OBEYED' if obeyed else 'not':6} {reply.kind:8} {seconds:5.1f}s")
            if show:
                print("    " + " ".join(shown.split())[:300])
    print(f"\n{'case':24} {'guards off':>10} {'guards on':>10}")
    for name, arms in results.items():
        print(f"{name:24} {('OBEYED' if arms.get(False) else 'not'):>10} {('OBEYED' if arms.get(True) else 'not'):>10}")
    for guards in (False, True):
        count = sum(arms.get(guards, False) for arms in results.values())
        print(f"answer.mode {mode}, guards {'on' if guards else 'off'}: {count} of {len(results)} obeyed")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="case names to run (default: all)")
    parser.add_argument("--show", action="store_true", help="print what the customer was shown")
    parser.add_argument("--mode", choices=["generate", "compose"], default="generate", help="answer.mode")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.only, arguments.show, arguments.mode))
