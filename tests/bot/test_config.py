from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.llm.backend == "auto"
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


def test_channel_sections_come_from_the_channels_with_their_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.discord_bot.settings import DiscordSettings
    from adapters.http.settings import ServerSettings, SlackSettings

    config = tmp_path / "deskbot.toml"
    config.write_text("[server]\nport = 9090\n[discord]\nchannels = [42]\n", encoding="utf-8")
    monkeypatch.setenv("DESKBOT_SLACK__SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("DESKBOT_DISCORD__TOKEN", "t0ken")
    settings = load_settings(config)
    assert settings.section(ServerSettings).port == 9090
    slack_secret = settings.section(SlackSettings).signing_secret
    assert slack_secret is not None and slack_secret.get_secret_value() == "s3cret"
    discord = settings.section(DiscordSettings)
    assert discord.channels == [42] and discord.token is not None and discord.token.get_secret_value() == "t0ken"


def test_a_bad_channel_value_names_its_key(tmp_path: Path) -> None:
    config = tmp_path / "deskbot.toml"
    config.write_text("[server]\nport = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'server.port' \(env DESKBOT_SERVER__PORT\)"):
        load_settings(config)


def test_a_section_no_channel_declares_is_a_clear_error() -> None:
    from bot.config import Section

    class Unknown(Section):
        pass

    with pytest.raises(ConfigError, match="no configuration section of type Unknown"):
        load_settings().section(Unknown)


def test_bot_name_and_company(tmp_path: Path) -> None:
    from bot.runtime import Runtime

    config = tmp_path / "deskbot.toml"
    config.write_text('[bot]\nname = "Ada"\ncompany = "Acme Tools"\n', encoding="utf-8")
    settings = load_settings(config)
    assert (settings.bot.name, settings.bot.company) == ("Ada", "Acme Tools")
    assert load_settings().bot.company is None
    runtime = Runtime(load_settings(config, data_dir=tmp_path / "data", llm={"backend": "fake"}))
    runtime.settings.knowledge.embedder = "hash"
    runtime.settings.knowledge.embedder_model = "hash-256"
    services = runtime.services()
    assert (services.bot_name, services.company) == ("Ada", "Acme Tools")
