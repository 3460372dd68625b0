"""Imports point one way: adapters -> bot -> knowledge (prompts is a leaf everyone may use), and go round no circle."""

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


def imported_names(path: Path) -> set[str]:
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
        bad = sorted(name for name in imported_names(path) if name.startswith(TOOLS))
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


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path, known: set[str]) -> set[str]:
    """The modules among `known` that `path` imports, at module level or inside functions (not TYPE_CHECKING-only)."""
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return (found & known) - {me}


def import_cycles(package: Path) -> list[list[str]]:
    """Every set of modules of `package` that import each other in a circle (strongly connected components)."""
    paths = {module_name(path, package.parent): path for path in package.rglob("*.py")}
    graph = {name: sorted(imported_modules(path, package.parent, set(paths))) for name, path in paths.items()}
    order: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(name: str) -> None:
        order[name] = lowest[name] = len(order)
        stack.append(name)
        for other in graph[name]:
            if other not in order:
                connect(other)
                lowest[name] = min(lowest[name], lowest[other])
            elif other in stack:
                lowest[name] = min(lowest[name], order[other])
        if lowest[name] == order[name]:
            component = stack[stack.index(name) :]
            del stack[stack.index(name) :]
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in order:
            connect(name)
    return cycles


def test_cycle_check_sees_function_level_and_relative_imports_but_not_type_checking_ones(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def later():\n    from pkg.sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("from .. import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n")
    (package / "d.py").write_text("import pkg.c\n")
    assert import_cycles(package) == [["pkg.a", "pkg.sub.b"]]


@pytest.mark.parametrize("package", ["knowledge", "bot", "adapters"])
def test_modules_import_each_other_in_no_circle(package: str) -> None:
    assert import_cycles(REPO / package) == []
