import pytest

from bot.errors import PluginError
from bot.plugins import PluginRegistry, build_plugin


def test_builtins_are_entry_points() -> None:
    registry = PluginRegistry()
    assert {"commands", "history", "retrieve", "answer"} <= set(registry.names("stages"))
    assert {"transformers", "fake"} <= set(registry.names("llm"))
    assert {"markdown", "jsonl", "text"} <= set(registry.names("loaders"))
    assert "terminal" in registry.names("adapters")


def test_registered_plugin_wins_over_entry_point() -> None:
    registry = PluginRegistry()
    marker = object()
    registry.register("llm", "fake", marker)
    assert registry.load("llm", "fake") is marker


def test_unknown_plugin_lists_installed_ones() -> None:
    with pytest.raises(PluginError, match=r"no stages plugin named 'nope' \(installed: .*answer"):
        PluginRegistry().load("stages", "nope")


def test_unknown_group() -> None:
    with pytest.raises(PluginError, match="unknown plugin group"):
        PluginRegistry().names("widgets")


def test_build_prefers_factory() -> None:
    class WithFactory:
        def __init__(self, value: int) -> None:
            self.value = value

        @classmethod
        def build(cls, value: int) -> "WithFactory":
            return cls(value * 2)

    assert build_plugin(WithFactory, 2).value == 4
    assert build_plugin(lambda value: value + 1, 2) == 3
