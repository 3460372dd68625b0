"""The generation options and the `[llm]` settings that feed them refuse values that cannot work."""

import pytest
from pydantic import ValidationError

from bot.config import LLMSettings
from bot.llm.base import GenerationOptions


def test_max_sentences_is_at_least_one_or_none() -> None:
    assert GenerationOptions().max_sentences is None
    assert GenerationOptions(max_sentences=1).max_sentences == 1
    with pytest.raises(ValueError, match="max_sentences must be at least 1"):
        GenerationOptions(max_sentences=0)


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_sentences", -1), ("max_sentences", 101), ("threads", -1), ("kv_cache", "paged"), ("max_new_tokens", 0)],
)
def test_llm_settings_refuse_out_of_range_values(key: str, value: object) -> None:
    with pytest.raises(ValidationError, match=key):
        LLMSettings(**{key: value})


def test_llm_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_LLM__MAX_SENTENCES", "0")
    monkeypatch.setenv("DESKBOT_LLM__THREADS", "2")
    monkeypatch.setenv("DESKBOT_LLM__KV_CACHE", "dynamic")
    from bot.config import load_settings

    settings = load_settings().llm
    assert (settings.max_sentences, settings.threads, settings.kv_cache) == (0, 2, "dynamic")
