"""The fine-tuning report: `report.html` with the data summary and a before/after table, `loss.png` (training loss
per step) and `metrics.png` (before/after bars), written into the trained model's folder."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _loss_plot(history: Sequence[Mapping[str, Any]], target: Path) -> bool:
    points = [(int(e["step"]), float(e["loss"])) for e in history if "loss" in e and "step" in e]
    if not points:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 60 else None)
    axes.set_xlabel("step")
    axes.set_ylabel("training loss")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return True


def _metrics_plot(before: Mapping[str, float], after: Mapping[str, float], target: Path) -> bool:
    names = [name for name in before if name in after]
    if not names:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, len(names), figsize=(2.6 * len(names), 3.2), squeeze=False)
    for axes, name in zip(panels[0], names, strict=True):
        bars = axes.bar(["before", "after"], [before[name], after[name]], color=["#9aa5b1", "#2f7ed8"])
        axes.bar_label(bars, fmt="%.3g")
        axes.set_title(name)
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return True


def _change(before: float, after: float) -> str:
    if before == 0:
        return ""
    return f"{(after - before) / abs(before) * 100:+.1f}%"


def write_run_folder(
    folder: Path,
    title: str,
    summary: Mapping[str, Any],
    training: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    evaluation: Mapping[str, Any],
) -> Path:
    """What every fine-tuning run leaves beside its weights: data_summary.json, training.json (with the loss
    history), evaluation.json (`before` / `after` metrics and more) and the HTML report, whose path is returned."""

    def write_json(name: str, value: Mapping[str, Any]) -> None:
        (folder / name).write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")

    write_json("data_summary.json", summary)
    write_json("training.json", {**training, "log_history": list(history)})
    write_json("evaluation.json", evaluation)
    return write_report(folder, title, summary, history, evaluation["before"], evaluation["after"])


def write_report(
    folder: Path,
    title: str,
    summary: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    before: Mapping[str, float],
    after: Mapping[str, float],
) -> Path:
    """Write report.html (+ loss.png, metrics.png when there is something to plot) and return its path."""
    images = []
    if _loss_plot(history, folder / "loss.png"):
        images.append("loss.png")
    if _metrics_plot(before, after, folder / "metrics.png"):
        images.append("metrics.png")
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{before[name]:.4g}</td><td>{after[name]:.4g}</td>"
        f"<td>{_change(before[name], after[name])}</td></tr>"
        for name in before
        if name in after
    )
    data_rows = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(str(value))}</td></tr>" for key, value in summary.items()
    )
    figures = "".join(f'<p><img src="{name}" alt="{name}"></p>' for name in images)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto}}td,th{{padding:.2em .8em;text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<h2>Held-out evaluation</h2>
<table><tr><th>metric</th><th>before</th><th>after</th><th>change</th></tr>
{rows or "<tr><td>not measured</td></tr>"}</table>
{figures}
<h2>Data</h2>
<table>{data_rows}</table>
</body></html>
"""
    target = folder / "report.html"
    target.write_text(page, encoding="utf-8")
    log.info("report written to %s", target)
    return target
