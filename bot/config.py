"""Configuration: one `deskbot.toml`, every key overridable by `DESKBOT_<SECTION>__<KEY>` environment variables.

The core's sections are declared here; each channel declares its own (`[server]`, `[slack]`, `[discord]`, ...) beside
its code, as the `settings_sections` of its `deskbot.adapters` entry point, and `load_settings` adds them. Validation
happens at start; a bad value raises `ConfigError` naming the key and the file.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_FILE = "deskbot.toml"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deskbot"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


SectionT = TypeVar("SectionT", bound=Section)


class BotSettings(Section):
    name: str = Field("Deskbot", min_length=1, description="What the bot calls itself.")
    company: str | None = Field(
        None, description="Whose help centre it answers for; default the sample's company, or 'our company'."
    )


class KnowledgeSettings(Section):
    path: Path | None = Field(None, description="Folder of documents; empty means the shipped sample help centre.")
    index_dir: Path | None = Field(None, description="Where the index lives; default <path>/.deskbot-index.")
    sample: Literal["en", "zh"] = Field(
        "en", description="Which shipped sample help centre answers when `path` is empty: English or Chinese."
    )
    embedder: str = Field(
        "auto",
        description="A `deskbot.embedders` plugin, or auto: an existing index's own embedder; for a new index "
        "multilingual e5 when most documents are not English, else MiniLM.",
    )
    embedder_model: str | None = Field(None, description="The embedder's model; empty means the plugin's default.")
    embedder_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="auto: bfloat16 on CPUs with native bfloat16 (AVX512-BF16, AMX), else float32."
    )
    index_type: Literal["flat", "hnsw", "ivf"] = "flat"
    chunk_tokens: int = Field(
        200, ge=32, le=2048, description="Embedder tokens per chunk, title and section line included."
    )
    max_file_mb: float = Field(20, gt=0, description="Largest file ingest reads; a larger one is refused.")
    max_document_chunks: int = Field(
        1000, ge=1, description="Most chunks one document may have; a longer one is refused (split it)."
    )
    top_k: int = Field(4, ge=1, le=100)
    per_document: int = Field(2, ge=1)
    retriever: Literal["hybrid", "dense"] = Field(
        "hybrid", description="hybrid: dense + BM25 fused; dense: FAISS only."
    )
    sync_on_start: bool = True
    read_only: bool = Field(
        False,
        description="Serve an index another process builds (`deskbot ingest` on a shared volume): never sync, lock "
        "or write the index folder. Taken anyway when the index folder is not writable.",
    )
    reload_interval_s: float = Field(
        5.0,
        ge=0,
        description="How often, at most, a serving process checks for a newer snapshot of the index (between turns); "
        "0 checks before every turn.",
    )


class LLMSettings(Section):
    backend: str = Field(
        "auto",
        description="auto: llamacpp for a GGUF model (the embedded one) on the CPU when the llamacpp extra is "
        "installed, else transformers (bot/llm/local.py); or transformers, llamacpp, openai, langchain.",
    )
    model: str = "smollm2"
    gguf_file: str | None = None
    adapter: Path | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    stream: bool = Field(
        True,
        description="openai backend: ask for a streamed reply (SSE); false asks for one JSON reply, for servers or "
        "gateways that cannot stream (the customer then sees the reply at once, when it is complete).",
    )
    device: str = Field(
        "auto", description="transformers backend: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on CPUs and on GPUs that have it, float16 on older GPUs."
    )
    threads: int = Field(
        1,
        ge=0,
        le=256,
        description="CPU threads of a local model's generation (0: one per core). One is fastest when the cores are "
        "shared with anything else (benchmarks/generation_speed.py).",
    )
    requantize: Literal["q8_0", "none"] = Field(
        "q8_0",
        description="llamacpp backend: re-quantise a GGUF's Q4_1 tensors to Q8_0 once (cached), as llama.cpp's "
        "prebuilt CPU wheel has no fast kernel for Q4_1 (bot/llm/gguf_requantize.py); none loads the file as it is.",
    )
    kv_cache: Literal["static", "dynamic"] = Field(
        "static", description="A local model's key/value cache: static (preallocated, faster decoding) or dynamic."
    )
    # 2 sentences and 32 tokens: whole replies of the embedded model p50 22 tokens; 32 rather than 40 cuts the CPU time
    # p95 of generated replies in the engine from 4.5 to 3.3 s (benchmarks/generated_replies.py, docs/llm.md)
    max_new_tokens: int = Field(32, ge=1, le=8192)
    max_sentences: int = Field(
        2, ge=0, le=100, description="End a reply after this many complete sentences (0: no limit but max_new_tokens)."
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(120.0, gt=0)
    context_window: int = Field(
        2048, ge=256, description="Tokens the model reads and writes per turn; passages are cut to fit."
    )
    cache_dir: Path | None = None


class AnswerSettings(Section):
    mode: Literal["auto", "compose", "generate"] = Field(
        "auto",
        description="compose: the reply is the passages' own best sentences (no generation); generate: the LLM writes "
        "it and every checkable claim is verified; auto: compose with a local model smaller than "
        "compose_below_parameters (the embedded one), generate with a larger or a remote model.",
    )
    compose_below_parameters: int = Field(
        1_000_000_000, ge=0, description="auto composes with a local model of fewer parameters than this."
    )
    compose_max_units: int = Field(2, ge=1, le=20, description="Most sentences (list items count extra) composed.")
    compose_max_chars: int = Field(450, ge=40, description="Longest composed reply, in characters.")
    check_claims: bool = Field(
        True, description="Replace a generated reply whose numbers, names, codes or links the passages lack."
    )
    check_grounding: bool = Field(
        True,
        description="Cut a generated reply before a sentence no passage supports (half its topic words), and "
        "replace one that draws on no passage with the composed answer.",
    )
    policy: Literal["model", "thresholds"] = Field(
        "model",
        description="How the bot decides that the passages answer the message: model (the abstention model, "
        "P(answerable) >= min_answer_probability) or thresholds (min_coverage less agreement_credit).",
    )
    abstention_model: Path | None = Field(
        None, description="The abstention model's JSON file; default the shipped bot/abstention_model.json."
    )
    min_answer_probability: float | None = Field(
        None, ge=0.0, le=1.0, description="P(answerable) at which the model policy answers; default the model file's."
    )
    # Calibrated on the dev sets' `answerable` labels with hybrid retrieval (benchmarks/calibrate_answer_policy.py
    # before the abstention model; the thresholds policy's values).
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
    max_context_tokens: int = Field(
        200, ge=32, description="Passages given to the model, in its tokens (fewer: a shorter prefill on a CPU)."
    )
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
    redact_pii: bool = Field(
        True,
        description="Mask e-mail addresses, phone, card and ID numbers in messages before anything stores or answers "
        "them, and in the log.",
    )
    refuse_role_changes: bool = Field(
        True,
        description="Drop sentences that try to change the bot's rules or identity; refuse a message of only those.",
    )


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
    rate_limits: Literal["auto", "process", "database"] = Field(
        "auto",
        description="Where rate limits count: process (each process its own count), database (one count for every "
        "instance on this store), auto (database when url is not SQLite).",
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, description="A database server that does not accept a connection within this fails the request."
    )
    statement_timeout_s: float = Field(
        10.0,
        gt=0,
        description="PostgreSQL: the server cancels a statement running longer (statement_timeout), and a "
        "connection whose server does not answer for a second longer (a stopped server) is cut.",
    )
    lock_timeout_s: float = Field(
        5.0, gt=0, description="PostgreSQL: a statement waiting longer for a lock another session holds is cancelled."
    )


class PipelineSettings(Section):
    stages: list[str] = [
        "guard",
        "commands",
        "handoff",
        "history",
        "rewrite",
        "retrieve",
        "output_guard",
        "faq",
        "answer",
    ]


class PromptSettings(Section):
    directory: Path | None = Field(None, description="Folder whose templates override the shipped ones.")


class LoggingSettings(Section):
    format: Literal["text", "json"] = Field(
        "text", description="text: one readable line a record; json: one JSON object a line (bot/logging_setup.py)."
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        None, description="Lowest level logged; empty: the process's own (WARNING; INFO with -v and for answers)."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DESKBOT_", env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    bot: BotSettings = BotSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    store: StoreSettings = StoreSettings()
    pipeline: PipelineSettings = PipelineSettings()
    conversation: ConversationSettings = ConversationSettings()
    guard: GuardSettings = GuardSettings()
    rewrite: RewriteSettings = RewriteSettings()
    prompts: PromptSettings = PromptSettings()
    logging: LoggingSettings = LoggingSettings()
    config_file: Path | None = Field(None, exclude=True)

    def section(self, model: type[SectionT]) -> SectionT:
        """The section whose model is `model` (a channel's own, such as the Discord channel's `[discord]`)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, model):
                return value
        raise ConfigError(f"no configuration section of type {model.__name__}: is its channel installed?")


def channel_sections() -> dict[str, type[Section]]:
    """The sections the installed channels declare (`settings_sections` of each `deskbot.adapters` entry point)."""
    sections: dict[str, type[Section]] = {}
    for entry_point in importlib.metadata.entry_points(group="deskbot.adapters"):
        try:
            declared: Mapping[str, type[Section]] = getattr(entry_point.load(), "settings_sections", {})
        except ImportError as error:
            log.warning("channel %s not loaded, its settings are unknown: %s", entry_point.name, error)
            continue
        for name, model in declared.items():
            if name in Settings.model_fields or sections.get(name, model) is not model:
                raise ConfigError(f"channel {entry_point.name} declares settings section [{name}], which is taken")
            sections[name] = model
    return sections


@functools.cache
def settings_class() -> type[Settings]:
    """`Settings` with every installed channel's sections."""
    fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in channel_sections().items()}
    model: type[Settings] = create_model("Settings", __base__=Settings, **fields)
    return model


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

    class FileSettings(settings_class()):  # type: ignore[misc]
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
