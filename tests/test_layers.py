"""Imports point one way: adapters -> bot -> knowledge (prompts is a leaf everyone may use)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {"knowledge": {"bot", "adapters"}, "bot": {"adapters"}, "prompts": {"bot", "adapters", "knowledge"}}
SDKS_OUTSIDE_ADAPTERS = {"discord", "slack_sdk", "fastapi", "starlette", "uvicorn"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


TOOLS = ("bot.evaluation", "bot.finetune", "bot.cli")
"""Tools that use the core; the core (the rest of bot/) never imports them. `python -m bot` starts the CLI."""
TOOL_ENTRY_POINTS = {"bot/__main__.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_never_imports_its_tools() -> None:
    offenders = []
    for path in (REPO / "bot").rglob("*.py"):
        relative = path.relative_to(REPO).as_posix()
        module = relative.removesuffix(".py").replace("/", ".")
        if relative in TOOL_ENTRY_POINTS or module.startswith(TOOLS):
            continue
        bad = sorted(name for name in imported_modules(path) if name.startswith(TOOLS))
        if bad:
            offenders.append(f"{relative} imports {bad}")
    assert offenders == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards_only(package: str) -> None:
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        imported = imported_packages(path)
        bad = imported & (FORBIDDEN[package] | SDKS_OUTSIDE_ADAPTERS)
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; sys.argv = ['deskbot', '--help']\n"
        "from bot.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'faiss', 'discord')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert "HEAVY=\n" in result.stdout, result.stdout[-500:]
