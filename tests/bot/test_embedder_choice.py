"""`[knowledge] embedder = "auto"`: an index keeps its embedder; a new one gets e5 when most documents are not
English, MiniLM otherwise; an explicit setting wins."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.config import Settings
from bot.embedder_choice import choice_for_languages, choice_for_model
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from knowledge.embedders import HashEmbedder


class NamedHashEmbedder(HashEmbedder):
    """A HashEmbedder that reports which plugin and model the runtime asked for."""

    def __init__(self, plugin: str, model: str = "") -> None:
        super().__init__(64)
        self.plugin, self.model = plugin, model

    @property
    def name(self) -> str:
        return self.model


@pytest.fixture
def auto_registry(registry: PluginRegistry) -> PluginRegistry:
    for plugin in ("sentence-transformers", "e5"):
        registry.register("embedders", plugin, lambda model="", plugin=plugin: NamedHashEmbedder(plugin, model))
    return registry


def plugin_of(runtime: Runtime, sources: list[Path] | None = None) -> str:
    embedder = runtime.embedder(sources or [])
    assert isinstance(embedder, NamedHashEmbedder)
    return embedder.plugin


def folder_with(tmp_path: Path, articles: dict[str, str]) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir(parents=True)
    for name, text in articles.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def auto_runtime(settings: Settings, registry: PluginRegistry, folder: Path | None) -> Runtime:
    settings.knowledge.embedder = "auto"
    settings.knowledge.embedder_model = None
    settings.knowledge.path = folder
    return Runtime(settings, registry)


def test_languages_decide_a_new_index() -> None:
    assert choice_for_languages(Counter({"zh": 3, "en": 2})).plugin == "e5"
    assert choice_for_languages(Counter({"zh": 2, "en": 2, "und": 9})).plugin == "sentence-transformers"
    assert choice_for_languages(Counter()).plugin == "sentence-transformers"
    assert choice_for_languages(Counter({"ja": 1})).model == "multilingual-e5-small"


def test_a_recorded_or_configured_name_maps_to_its_plugin() -> None:
    assert choice_for_model("multilingual-e5-small@q4", "").plugin == "e5"
    assert choice_for_model("multilingual-e5-small@q4", "").model == "multilingual-e5-small"
    assert choice_for_model("hash-256", "").plugin == "hash"
    assert choice_for_model("all-MiniLM-L6-v2@bfloat16", "") == choice_for_model("all-MiniLM-L6-v2", "")
    assert choice_for_model("/models/finetuned-minilm", "").plugin == "sentence-transformers"


def test_a_chinese_knowledge_base_gets_e5_and_keeps_it(
    tmp_path: Path, settings: Settings, auto_registry: PluginRegistry
) -> None:
    articles = {"a": "# 退货\n\n30天内可以退货。", "b": "# 保修\n\n两年保修。", "c": "# Hours\n\nNine."}
    folder = folder_with(tmp_path, articles)
    runtime = auto_runtime(settings, auto_registry, folder)
    assert plugin_of(runtime) == "e5"
    runtime.knowledge(sync=True)
    for name in ("d", "e", "f"):
        (folder / f"{name}.md").write_text(f"# Page {name}\n\nAn English page.", encoding="utf-8")
    again = auto_runtime(settings, auto_registry, folder)
    assert plugin_of(again) == "e5", "an existing index keeps the embedder that built it"


def test_an_english_knowledge_base_gets_minilm_and_explicit_config_wins(
    tmp_path: Path, settings: Settings, auto_registry: PluginRegistry
) -> None:
    folder = folder_with(tmp_path, {"a": "# Returns\n\nReturn within 30 days.", "b": "# 保修\n\n两年保修。"})
    assert plugin_of(auto_runtime(settings, auto_registry, folder)) == "sentence-transformers"
    explicit = auto_runtime(settings, auto_registry, folder)
    explicit.settings.knowledge.embedder = "e5"
    assert plugin_of(explicit) == "e5"
    named = auto_runtime(settings, auto_registry, folder)
    named.settings.knowledge.embedder_model = "multilingual-e5-small"
    assert plugin_of(named) == "e5", "a configured model under auto picks the plugin that runs it"


def test_files_about_to_be_ingested_count_too(
    tmp_path: Path, settings: Settings, auto_registry: PluginRegistry
) -> None:
    empty = tmp_path / "kb"
    empty.mkdir()
    incoming = folder_with(tmp_path / "incoming", {"a": "# 配送\n\n两天内发货。"})
    runtime = auto_runtime(settings, auto_registry, empty)
    assert plugin_of(runtime, [incoming]) == "e5"


def test_the_chinese_sample_gets_e5_and_an_index_folder_of_its_own(
    settings: Settings, auto_registry: PluginRegistry
) -> None:
    english = auto_runtime(settings, auto_registry, None)
    chinese = auto_runtime(settings.model_copy(deep=True), auto_registry, None)
    chinese.settings.knowledge.sample = "zh"
    assert plugin_of(english) == "sentence-transformers"
    assert plugin_of(chinese) == "e5"
    assert chinese.index_dir() != english.index_dir() and "zh" in chinese.index_dir().parts
