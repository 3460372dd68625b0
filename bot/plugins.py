"""The plugin registry: every adapter, stage, LLM backend, embedder, loader and CLI command is an entry point.

Built-ins register in Deskbot's own pyproject exactly as a third-party package would, under these groups:
`deskbot.adapters`, `deskbot.stages`, `deskbot.llm`, `deskbot.embedders`, `deskbot.loaders`, `deskbot.commands`.
Tests (and embedding applications) can add objects directly with `register`.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

from bot.errors import PluginError

log = logging.getLogger(__name__)

GROUPS = ("adapters", "stages", "llm", "embedders", "loaders", "commands")


class PluginRegistry:
    def __init__(self) -> None:
        self._extra: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}

    def _check(self, group: str) -> None:
        if group not in GROUPS:
            raise PluginError(f"unknown plugin group '{group}' (known: {', '.join(GROUPS)})")

    def register(self, group: str, name: str, plugin: Any) -> None:
        """Add or replace a plugin without an entry point (tests, applications embedding Deskbot)."""
        self._check(group)
        self._extra[group][name] = plugin

    def names(self, group: str) -> list[str]:
        self._check(group)
        found = {ep.name for ep in importlib.metadata.entry_points(group=f"deskbot.{group}")}
        return sorted(found | set(self._extra[group]))

    def load(self, group: str, name: str) -> Any:
        """The plugin object (usually a class) registered as `name` in `group`."""
        self._check(group)
        if name in self._extra[group]:
            return self._extra[group][name]
        for entry_point in importlib.metadata.entry_points(group=f"deskbot.{group}"):
            if entry_point.name == name:
                try:
                    return entry_point.load()
                except ImportError as error:
                    raise PluginError(
                        f"{group} plugin '{name}' cannot be imported ({error}); is its extra installed?"
                    ) from error
        known = ", ".join(self.names(group)) or "none"
        raise PluginError(f"no {group} plugin named '{name}' (installed: {known})")

    def load_all(self, group: str) -> dict[str, Any]:
        return {name: self.load(group, name) for name in self.names(group)}


def build_plugin(plugin: Any, *args: Any) -> Any:
    """Instantiate a plugin: through its `build(*args)` factory when it has one, else by calling it."""
    factory = getattr(plugin, "build", None)
    return factory(*args) if callable(factory) else plugin(*args)
