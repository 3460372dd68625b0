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
    embedder_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="auto: bfloat16 on CPUs with native bfloat16 (AVX512-BF16, AMX), else float32."
    )
    index_type: Literal["flat", "hnsw", "ivf"] = "flat"
    chunk_tokens: int = Field(
        200, ge=32, le=2048, description="Embedder tokens per chunk, title and section line included."
    )
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
    # Calibrated on the dev sets' `answerable` labels with hybrid retrieval (benchmarks/calibrate_answer_policy.py).
    min_score: float = Field(0.32, ge=-1.0, le=1.0, description="Best retrieval score below which the bot abstains.")
    min_coverage: float = Field(
        0.80,
        ge=0.0,
        le=1.0,
        description="Share of the message's topic words the passages must contain when neither retriever (dense, "
        "BM25) ranks the best passage first, else abstain.",
    )
    agreement_credit: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="How much lower the required share is for each retriever that ranks the best passage first.",
    )
    max_context_tokens: int = Field(300, ge=32, description="Passages given to the model, in its tokens.")
    max_passages: int = Field(3, ge=1, le=20)
    faq_min_score: float = Field(
        0.8, ge=-1.0, le=1.01, description="Score at which a curated FAQ entry is returned verbatim (above 1: never)."
    )
    history_tokens: int = Field(160, ge=0, description="Earlier turns given to the model, counted in its tokens.")


class ConversationSettings(Section):
    history_messages: int = Field(12, ge=0, description="Most earlier messages loaded for a turn.")
    retention_days: int | None = Field(None, ge=1, description="Delete conversations idle longer than this.")
    handoff_webhook_url: str | None = Field(None, description="POSTed a JSON notice when a customer asks for a human.")


class GuardSettings(Section):
    max_message_chars: int = Field(4000, ge=1)
    rate_limit_messages: int = Field(20, ge=1, description="Most messages one user may send per window.")
    rate_limit_window_s: float = Field(60.0, gt=0)
    redact_pii: bool = Field(False, description="Mask e-mail addresses, phone and card numbers before storage.")


class RewriteSettings(Section):
    mode: Literal["keywords", "llm", "off"] = "keywords"
    llm_timeout_s: float = Field(3.0, gt=0, description="Slower LLM rewrites fall back to the keyword rewrite.")


class StoreSettings(Section):
    url: str | None = Field(None, description="SQLAlchemy URL; default a SQLite file in the data folder.")
    queue_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the webhook delivery queue; default the store's database, or beside the "
        "default SQLite store a SQLite file of its own (SQLite writes one at a time per file, and acknowledgements "
        "must not wait behind conversation writes).",
    )


class PipelineSettings(Section):
    stages: list[str] = ["guard", "commands", "handoff", "history", "rewrite", "retrieve", "answer"]


class PromptSettings(Section):
    directory: Path | None = Field(None, description="Folder whose templates override the shipped ones.")


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (Slack de-duplication is shared).")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Requests with a larger body are refused (413).")
    ready_timeout_s: float = Field(60.0, gt=0, description="How long a request waits for the models to load.")
    docs: bool = Field(True, description="Serve the OpenAPI docs at /docs.")
    answer_processes: int = Field(
        1,
        ge=0,
        le=64,
        description="Processes answering webhook deliveries at a lower CPU priority, so acknowledgements stay fast "
        "(0: the HTTP workers answer them).",
    )
    answer_concurrency: int = Field(256, ge=1, le=10_000, description="Deliveries one answer worker handles at once.")
    answer_lease_s: float = Field(
        300.0, gt=0, description="A delivery taken this long ago and still unanswered is offered again."
    )
    answer_niceness: int = Field(10, ge=0, le=19, description="How much lower the answer processes' CPU priority is.")


class SlackSettings(Section):
    signing_secret: SecretStr | None = Field(None, description="Verifies Slack's requests; no Slack routes without.")
    bot_token: SecretStr | None = None
    api_url: str = Field("https://slack.com/api/", description="Web API base URL (a compatible server or test double).")
    max_rate_limit_retries: int = Field(3, ge=0, le=20)


class DiscordSettings(Section):
    token: SecretStr | None = None
    channels: list[int] = Field(default_factory=list, description="Channel ids where every message is answered.")
    threads: bool = Field(True, description="Answer a channel message in a new thread, one thread per conversation.")
    edit_interval_s: float = Field(1.0, ge=0.2, description="Streamed answers edit the message at most this often.")
    sync_commands: bool = Field(True, description="Register the slash commands with Discord on start.")


class WebhookSettings(Section):
    secret: SecretStr | None = Field(None, description="Signs outgoing and verifies incoming webhooks (HMAC-SHA256).")
    outgoing_urls: list[str] = Field(default_factory=list, description="Every reply is POSTed to these URLs.")
    max_attempts: int = Field(5, ge=1, le=20)
    backoff_s: float = Field(1.0, ge=0.0, description="First retry delay; doubled after each failed attempt.")
    timeout_s: float = Field(10.0, gt=0)


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
    conversation: ConversationSettings = ConversationSettings()
    guard: GuardSettings = GuardSettings()
    rewrite: RewriteSettings = RewriteSettings()
    prompts: PromptSettings = PromptSettings()
    server: ServerSettings = ServerSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    webhooks: WebhookSettings = WebhookSettings()
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
