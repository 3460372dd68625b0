"""End to end on the embedded defaults (MiniLM + SmolLM2 from their PyPI packages), as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.deskbot_process import run_deskbot

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def ask_json(question: str, tmp_path: Path, model_cache: Path) -> dict[str, Any]:
    env = {"DESKBOT_DATA_DIR": str(tmp_path / "data"), "DESKBOT_LLM__CACHE_DIR": str(model_cache)}
    result = run_deskbot("ask", question, "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_ask_json_answers_from_the_sample_and_cites_the_document(tmp_path: Path, model_cache: Path) -> None:
    payload = ask_json("What is the Nimbus Plus subscription and what does it cost?", tmp_path, model_cache)
    assert not payload["abstained"]
    assert payload["answer"].strip()
    cited = [citation["id"] for citation in payload["citations"]]
    assert cited and cited[0] in {"faq-nimbus-plus", "nimbus-plus-terms"}, cited


def test_unrelated_question_abstains(tmp_path: Path, model_cache: Path) -> None:
    assert ask_json("What is the boiling point of mercury in kelvin?", tmp_path, model_cache)["abstained"] is True
