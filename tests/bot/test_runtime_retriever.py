from bot.config import Settings
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from knowledge.retrievers.dense import DenseRetriever
from knowledge.retrievers.following import FollowingRetriever
from knowledge.retrievers.hybrid import HybridRetriever


def test_hybrid_is_the_default_retriever(settings: Settings, registry: PluginRegistry) -> None:
    runtime = Runtime(settings, registry)
    retriever = runtime.retriever()
    assert isinstance(retriever, FollowingRetriever)
    assert isinstance(retriever.searching, HybridRetriever)
    assert runtime.retriever() is retriever
    assert retriever.retrieve("how do I return an item", 2)


def test_dense_retriever_by_config(settings: Settings, registry: PluginRegistry) -> None:
    settings.knowledge.retriever = "dense"
    retriever = Runtime(settings, registry).retriever()
    assert isinstance(retriever, FollowingRetriever)
    assert isinstance(retriever.searching, DenseRetriever)
