"""LoRA end to end on a tiny Llama built in the test: trains, reloads through the serving backend, resumes, refuses."""

import json
from pathlib import Path

import pytest

from bot.config import LLMSettings
from bot.finetune.errors import InsufficientMemoryError, TargetModuleError
from bot.finetune.lora import LoraArguments, TrainingOptions, train_lora
from bot.finetune.preparation import PreparedData, SplitOptions, prepare
from bot.finetune.sources import read_training_file

pytestmark = pytest.mark.integration


@pytest.fixture
def data(questions_file: Path) -> PreparedData:
    return prepare(read_training_file(questions_file), SplitOptions(validation_fraction=0.25))


def _options(output: Path, **changes: object) -> TrainingOptions:
    defaults: dict[str, object] = {
        "output_dir": output,
        "max_steps": 3,
        "learning_rate": 1e-2,
        "batch_size": 2,
        "max_length": 64,
        "save_steps": 1,
        "eval_generate": 1,
        "max_new_tokens": 4,
    }
    return TrainingOptions(**{**defaults, **changes})  # type: ignore[arg-type]


def _logits(settings: LLMSettings, text: str) -> object:
    import torch

    from bot.llm.transformers_backend import TransformersLLM

    model, tokenizer = TransformersLLM(settings).loaded()
    with torch.inference_mode():
        return model(**tokenizer(text, return_tensors="pt")).logits


def test_trains_writes_an_adapter_that_reloads_and_changes_outputs(
    tiny_llm_settings: LLMSettings, data: PreparedData, tmp_path: Path
) -> None:
    import torch

    output = tmp_path / "adapter"
    result = train_lora(tiny_llm_settings, data, LoraArguments(rank=4, alpha=8), _options(output, merge=True))

    assert result.steps == 3 and result.tokens_per_second > 0
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "data_summary.json",
        "evaluation.json",
        "report.html",
        "loss.png",
        "metrics.png",
    ):
        assert (output / name).is_file(), name
    evaluation = json.loads((output / "evaluation.json").read_text())
    assert set(evaluation["before"]) == {"answer_perplexity", "text_perplexity", "rougeL", "bleu"}
    assert evaluation["after"]["answer_perplexity"] < evaluation["before"]["answer_perplexity"]
    assert json.loads((output / "data_summary.json").read_text())["train"] == len(data.train)

    text = "How long is the warranty ?"
    base = _logits(tiny_llm_settings, text)
    adapted = _logits(tiny_llm_settings.model_copy(update={"adapter": output}), text)
    merged = _logits(tiny_llm_settings.model_copy(update={"model": str(result.merged_dir)}), text)
    assert not torch.allclose(base, adapted)  # type: ignore[arg-type]
    assert torch.allclose(adapted, merged, atol=1e-4)  # type: ignore[arg-type]


def test_resumes_from_the_last_checkpoint(tiny_llm_settings: LLMSettings, data: PreparedData, tmp_path: Path) -> None:
    output = tmp_path / "adapter"
    train_lora(tiny_llm_settings, data, LoraArguments(rank=4), _options(output, max_steps=2, evaluate=False))
    assert (output / "checkpoints" / "checkpoint-2").is_dir()

    resumed = train_lora(
        tiny_llm_settings, data, LoraArguments(rank=4), _options(output, max_steps=4, resume=True, evaluate=False)
    )
    assert resumed.steps == 4
    steps = [
        entry["step"] for entry in json.loads((output / "training.json").read_text())["log_history"] if "loss" in entry
    ]
    assert steps[-2:] == [3, 4] and 1 in steps  # the log history of the first run was restored too


def test_unknown_target_module_is_refused(tiny_llm_settings: LLMSettings, data: PreparedData, tmp_path: Path) -> None:
    with pytest.raises(TargetModuleError, match=r"no module named 'c_attn'.*q_proj") as caught:
        train_lora(tiny_llm_settings, data, LoraArguments(target_modules=("q_proj", "c_attn")), _options(tmp_path))
    assert "\n" not in str(caught.value)


def test_a_batch_that_does_not_fit_is_refused_up_front(
    tiny_llm_settings: LLMSettings, data: PreparedData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.finetune.memory.available_bytes", lambda device: 64 * 1024**2)
    with pytest.raises(InsufficientMemoryError, match=r"a batch of 4096 x \d+ tokens needs about .* GiB"):
        train_lora(tiny_llm_settings, data, LoraArguments(), _options(tmp_path, batch_size=4096))
    assert not (tmp_path / "checkpoints").exists()
