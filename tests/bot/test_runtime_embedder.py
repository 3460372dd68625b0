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


def test_each_copy_of_the_sample_has_its_own_index_in_a_shared_data_folder(
    settings: Settings, registry: PluginRegistry, tmp_path, monkeypatch, caplog
) -> None:
    """Two checkouts (or a moved one) that share the data folder: each indexes its own copy of the sample, and
    neither refuses the other's document ids."""
    import shutil

    import bot.runtime
    from knowledge.samples import sample_documents_folder

    copies = [tmp_path / "checkout-a" / "sample", tmp_path / "checkout-b" / "sample"]
    for copy in copies:
        shutil.copytree(sample_documents_folder("en"), copy)
    indexes = []
    for copy in copies:
        monkeypatch.setattr(bot.runtime, "sample_documents_folder", lambda _sample, copy=copy: copy)
        runtime = Runtime(settings, registry)
        with caplog.at_level("WARNING"):
            report = runtime.knowledge(sync=False).writer.sync([runtime.documents_folder()])
        assert report.added > 0 and "already belongs to" not in caplog.text
        indexes.append(runtime.index_dir())
    assert indexes[0] != indexes[1] and indexes[0].parent == indexes[1].parent  # one folder per embedder
