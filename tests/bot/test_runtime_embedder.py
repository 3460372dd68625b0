import pytest

from bot.config import Settings
from bot.errors import ConfigError
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from knowledge.embedders.sentence_transformer import SentenceTransformerEmbedder


def test_precision_reaches_an_embedder_that_takes_it(settings: Settings, registry: PluginRegistry) -> None:
    settings.knowledge.embedder = "sentence-transformers"
    settings.knowledge.embedder_model = "all-MiniLM-L6-v2"
    settings.knowledge.embedder_precision = "bfloat16"
    embedder = Runtime(settings, registry).embedder()
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name == "all-MiniLM-L6-v2@bfloat16"


def test_auto_precision_is_not_passed_on(settings: Settings, registry: PluginRegistry) -> None:
    assert Runtime(settings, registry).embedder().name == "hash-256"


def test_precision_for_an_embedder_without_one_names_the_key(settings: Settings, registry: PluginRegistry) -> None:
    settings.knowledge.embedder_precision = "float32"
    with pytest.raises(ConfigError, match=r"knowledge.embedder_precision: the 'hash' embedder"):
        Runtime(settings, registry).embedder()
