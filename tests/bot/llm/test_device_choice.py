"""Which device and dtype the local model gets, with torch's view of the GPU replaced (no GPU is needed)."""

from __future__ import annotations

import pytest
import torch

from bot.config import LLMSettings
from bot.errors import ConfigError
from bot.llm.device import resolve_device, resolve_dtype, resolve_placement


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_auto_picks_cuda_and_bfloat16_when_a_gpu_is_there(gpu: None) -> None:
    placement = resolve_placement("auto", "auto")
    assert (placement.device, placement.dtype) == ("cuda", "bfloat16")


def test_an_older_gpu_without_bfloat16_gets_float16(gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    assert resolve_placement("auto", "auto").dtype == "float16"
    assert resolve_dtype("auto", "cpu") == "bfloat16"  # the CPU's choice does not depend on the GPU


def test_auto_is_the_cpu_without_a_gpu(no_gpu: None) -> None:
    placement = resolve_placement("auto", "auto")
    assert (placement.device, placement.dtype) == ("cpu", "bfloat16")


def test_cpu_stays_the_default_on_this_machine() -> None:
    settings = LLMSettings()
    assert (settings.device, settings.dtype) == ("auto", "auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(settings.device) == expected


def test_explicit_choices_are_kept(gpu: None) -> None:
    assert resolve_placement("cuda:1", "float32").device == "cuda:1"
    assert resolve_placement("cpu", "float16").dtype == "float16"
    assert resolve_device("cpu") == "cpu"


def test_cuda_without_a_gpu_is_a_clear_error(no_gpu: None) -> None:
    with pytest.raises(ConfigError, match=r"llm\.device: 'cuda' asked for, but torch sees no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.parametrize("setting", ["gpu", "cuda:x", "CUDA", ""])
def test_an_unknown_device_names_the_key(setting: str) -> None:
    with pytest.raises(ConfigError, match=r"llm\.device"):
        resolve_device(setting)


def test_the_transformers_backend_loads_where_the_settings_say(no_gpu: None) -> None:
    from bot.llm.transformers_backend import TransformersLLM

    llm = TransformersLLM(LLMSettings(device="cuda"))
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        llm.load()  # refused before any weights are read
    assert llm.device == "cpu"
