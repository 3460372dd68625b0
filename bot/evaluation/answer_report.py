"""The HTML report of `deskbot eval answers --report DIR`: the scores, PNG plots (matplotlib) and the worst answers."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.evaluation.answers import AnswerResult


def _plots(results: Sequence[AnswerResult], folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bot.evaluation.metrics import rouge_l

    made: list[tuple[str, str]] = []

    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.hist([r.ttft_ms / 1000 for r in results], bins=30, alpha=0.7, label="time to first token")
    axis.hist([r.latency_ms / 1000 for r in results], bins=30, alpha=0.7, label="whole reply")
    axis.set_xlabel("seconds")
    axis.set_ylabel("questions")
    axis.legend()
    axis.set_title("Latency")
    figure.tight_layout()
    figure.savefig(folder / "latency.png", dpi=110)
    plt.close(figure)
    made.append(("latency.png", "Time to first token and whole-reply latency"))

    cells = {
        (True, False): "answered, answerable",
        (True, True): "abstained, answerable",
        (False, False): "answered, unanswerable",
        (False, True): "abstained, unanswerable",
    }
    counts = {label: 0 for label in cells.values()}
    for r in results:
        counts[cells[(r.question.answerable, r.abstained)]] += 1
    figure, axis = plt.subplots(figsize=(6, 3.5))
    colours = ["tab:green", "tab:orange", "tab:red", "tab:green"]
    axis.barh(list(counts), list(counts.values()), color=colours)
    axis.set_xlabel("questions")
    axis.set_title("Knowing when not to answer")
    figure.tight_layout()
    figure.savefig(folder / "abstention.png", dpi=110)
    plt.close(figure)
    made.append(("abstention.png", "Answered or abstained, by whether the knowledge holds the answer"))

    answered = [r for r in results if r.question.answerable and not r.abstained]
    if answered:
        scores = [rouge_l([r.text], [r.question.answer]) for r in answered]
        figure, axis = plt.subplots(figsize=(6, 3.5))
        axis.hist(scores, bins=20, range=(0, 1), color="tab:blue")
        axis.set_xlabel("ROUGE-L F1 against the reference answer")
        axis.set_ylabel("answers")
        axis.set_title("Answer overlap with references")
        figure.tight_layout()
        figure.savefig(folder / "rouge.png", dpi=110)
        plt.close(figure)
        made.append(("rouge.png", "ROUGE-L of each answered question"))
    return made


def write_report(folder: Path, summary: Mapping[str, Any], results: Sequence[AnswerResult], title: str) -> Path:
    """Write `index.html` and its plots into `folder`; the path of the page."""
    folder.mkdir(parents=True, exist_ok=True)
    plots = _plots(results, folder)
    rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>" for key, value in summary.items()
    )
    figures = "".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption>'
        "</figure>"
        for name, caption in plots
    )
    mistakes = [r for r in results if r.abstained != (not r.question.answerable)][:25]
    mistake_rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(r.question.question),
            "should not answer" if not r.question.answerable else "answerable",
            html.escape(r.kind),
            html.escape(r.text[:300]),
        )
        for r in mistakes
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;
vertical-align:top}}figure{{display:inline-block;margin:.5rem}}img{{max-width:28rem}}</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Scores</h2><table>{rows}</table>
<h2>Plots</h2>{figures}
<h2>Wrong answer-or-abstain decisions (first 25)</h2>
<table><tr><th>question</th><th>label</th><th>reply kind</th><th>reply</th></tr>{mistake_rows}</table>
</body></html>
"""
    target = folder / "index.html"
    target.write_text(page, encoding="utf-8")
    return target
