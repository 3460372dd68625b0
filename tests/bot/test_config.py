from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.llm.backend == "transformers"
    assert settings.llm.model == "smollm2"
    assert settings.knowledge.path is None


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text('[knowledge]\npath = "docs"\ntop_k = 7\n[llm]\nmodel = "my-model"\n', encoding="utf-8")
    settings = load_settings(config)
    assert settings.knowledge.path == tmp_path / "docs"
    assert settings.knowledge.top_k == 7
    assert settings.llm.model == "my-model"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text('[llm]\nbackend = "transformers"\nmodel = "from-file"\n', encoding="utf-8")
    monkeypatch.setenv("DESKBOT_LLM__BACKEND", "openai")
    monkeypatch.setenv("DESKBOT_LLM__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DESKBOT_LLM__API_KEY", "sk-test")
    settings = load_settings(config)
    assert (settings.llm.backend, settings.llm.model) == ("openai", "from-file")
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert settings.llm.api_key is not None and settings.llm.api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(settings)


def test_bad_value_names_key_env_name_and_file(tmp_path: Path) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text("[knowledge]\ntop_k = 'many'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    message = str(raised.value)
    assert "knowledge.top_k" in message and "DESKBOT_KNOWLEDGE__TOP_K" in message and str(config) in message


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text("[knowlege]\npath = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="knowlege"):
        load_settings(config)


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text("[llm\nmodel=", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
