"""Configuration: one `deskbot.toml`, every key overridable by `DESKBOT_<SECTION>__<KEY>` environment variables.

Validation happens at start; a bad value raises `ConfigError` naming the key and the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError

CONFIG_FILE = "deskbot.toml"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deskbot"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KnowledgeSettings(Section):
    path: Path | None = Field(None, description="Folder of documents; empty means the shipped sample help centre.")
    index_dir: Path | None = Field(None, description="Where the index lives; default <path>/.deskbot-index.")
    embedder: str = "sentence-transformers"
    embedder_model: str = "all-MiniLM-L6-v2"
    index_type: Literal["flat", "hnsw", "ivf"] = "flat"
    chunk_tokens: int = Field(180, ge=32, le=2048)
    top_k: int = Field(4, ge=1, le=100)
    per_document: int = Field(2, ge=1)
    retriever: Literal["hybrid", "dense"] = Field(
        "hybrid", description="hybrid: dense + BM25 fused; dense: FAISS only."
    )
    sync_on_start: bool = True


class LLMSettings(Section):
    backend: str = "transformers"
    model: str = "smollm2"
    gguf_file: str | None = None
    adapter: Path | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_new_tokens: int = Field(160, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(120.0, gt=0)
    context_window: int = Field(2048, ge=256)
    cache_dir: Path | None = None


class AnswerSettings(Section):
    min_score: float = Field(0.35, ge=-1.0, le=1.0, description="Best retrieval score below which the bot abstains.")
    max_context_tokens: int = Field(600, ge=32)
    max_passages: int = Field(3, ge=1, le=20)


class StoreSettings(Section):
    url: str | None = Field(None, description="SQLAlchemy URL; default a SQLite file in the data folder.")


class PipelineSettings(Section):
    stages: list[str] = ["commands", "history", "retrieve", "answer"]


class PromptSettings(Section):
    directory: Path | None = Field(None, description="Folder whose templates override the shipped ones.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DESKBOT_", env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    knowledge: KnowledgeSettings = KnowledgeSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    store: StoreSettings = StoreSettings()
    pipeline: PipelineSettings = PipelineSettings()
    prompts: PromptSettings = PromptSettings()
    config_file: Path | None = Field(None, exclude=True)


def _relative_to(base: Path, value: Path | None) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else (base / value)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read `config_file` (or ./deskbot.toml when present), then the environment, then `overrides`."""
    path = config_file if config_file is not None else (Path.cwd() / CONFIG_FILE)
    if config_file is not None and not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    where = str(path) if path.is_file() else "environment"
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML ({error})") from error

    class FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if path.is_file():
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            return tuple(sources)

    try:
        settings: Settings = FileSettings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        env_name = "DESKBOT_" + "__".join(str(part).upper() for part in first["loc"])
        raise ConfigError(f"{where}: invalid value for '{key}' (env {env_name}): {first['msg']}") from error
    base = path.parent if path.is_file() else Path.cwd()
    settings.config_file = path if path.is_file() else None
    settings.knowledge.path = _relative_to(base, settings.knowledge.path)
    settings.knowledge.index_dir = _relative_to(base, settings.knowledge.index_dir)
    settings.prompts.directory = _relative_to(base, settings.prompts.directory)
    settings.llm.adapter = _relative_to(base, settings.llm.adapter)
    return settings
