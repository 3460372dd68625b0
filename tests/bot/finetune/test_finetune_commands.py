"""`deskbot finetune lora|embedder` on tiny models: one line per outcome, exit status 1 on bad input."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.finetune.errors import TrainingDataError
from tests.bot.finetune.conftest import DOCUMENTS, write_questions

pytestmark = pytest.mark.integration


def test_lora_command_trains_and_prints_before_after(
    tiny_llm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKBOT_LLM__MODEL", str(tiny_llm_dir))
    monkeypatch.setenv("DESKBOT_LLM__DEVICE", "cpu")
    data = write_questions(tmp_path / "q.jsonl")
    output = tmp_path / "adapter"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "lora",
            "--data",
            str(data),
            "--output",
            str(output),
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--max-length",
            "64",
            "--rank",
            "4",
            "--eval-generate",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "answer_perplexity" in result.output and "--adapter" in result.output
    assert (output / "adapter_config.json").is_file()


def test_embedder_command_says_the_index_must_be_rebuilt(tiny_embedder_dir: Path, tmp_path: Path) -> None:
    data = write_questions(tmp_path / "q.jsonl")
    kb = tmp_path / "kb.jsonl"
    kb.write_text("\n".join(json.dumps(d) for d in DOCUMENTS) + "\n", encoding="utf-8")
    output = tmp_path / "embedder"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "embedder",
            "--data",
            str(data),
            "--knowledge",
            str(kb),
            "--output",
            str(output),
            "--base-model",
            str(tiny_embedder_dir),
            "--max-steps",
            "1",
            "--batch-size",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recall@5" in result.output and "deskbot kb rebuild" in result.output


def test_empty_data_is_one_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["finetune", "lora", "--data", str(empty), "--output", str(tmp_path / "o")])
    assert isinstance(result.exception, TrainingDataError)
    assert str(result.exception) == f"{empty}: the training file is empty"


def test_embedder_command_rebuilds_the_knowledge_index_with_the_new_model(
    tiny_embedder_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", str(tiny_embedder_dir))
    folder = tmp_path / "help"
    folder.mkdir()
    (folder / "warranty.md").write_text("# Warranty\n\nThe warranty lasts two years.\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["ingest", str(folder), "--kb", str(folder)]).exit_code == 0
    data, kb = write_questions(tmp_path / "q.jsonl"), tmp_path / "kb.jsonl"
    kb.write_text("\n".join(json.dumps(d) for d in DOCUMENTS) + "\n", encoding="utf-8")
    output = tmp_path / "tuned"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "embedder",
            "--data",
            str(data),
            "--knowledge",
            str(kb),
            "--output",
            str(output),
            "--max-steps",
            "1",
            "--batch-size",
            "4",
            "--no-eval",
            "--rebuild-kb",
            str(folder),
        ],
    )
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("DESKBOT_KNOWLEDGE__EMBEDDER_MODEL", str(output))
    stats = CliRunner().invoke(app, ["kb", "stats", "--kb", str(folder)])
    assert stats.exit_code == 0, stats.output  # an index built by another embedder would refuse to load
    assert re.search(r'"embedder": "tuned(@bfloat16)?"', stats.output)  # bfloat16 on CPUs that have it
