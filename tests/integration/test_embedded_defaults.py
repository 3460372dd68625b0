"""End to end on the embedded defaults (MiniLM + SmolLM2 from their PyPI packages), as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_ask_json_answers_from_the_sample_and_cites_the_document(tmp_path: Path, model_cache: Path) -> None:
    env = {**os.environ, "DESKBOT_DATA_DIR": str(tmp_path / "data"), "DESKBOT_LLM__CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "What is the Nimbus Plus subscription and what does it cost?", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout)
    assert not payload["abstained"]
    assert payload["answer"].strip()
    cited = [citation["id"] for citation in payload["citations"]]
    assert cited and cited[0] in {"faq-nimbus-plus", "nimbus-plus-terms"}, cited


def test_unrelated_question_abstains(tmp_path: Path, model_cache: Path) -> None:
    env = {**os.environ, "DESKBOT_DATA_DIR": str(tmp_path / "data"), "DESKBOT_LLM__CACHE_DIR": str(model_cache)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "What is the boiling point of mercury in kelvin?", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["abstained"] is True
