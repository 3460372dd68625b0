"""Fixtures for the knowledge layer's tests: the document loaders, found the one way Deskbot finds them."""

from __future__ import annotations

import pytest

from bot.plugins import PluginRegistry
from knowledge.loaders.base import LoaderSet


def registered_loaders() -> LoaderSet:
    """Every `deskbot.loaders` plugin, as `bot.runtime.Runtime.loaders` builds them."""
    return LoaderSet({name: plugin() for name, plugin in PluginRegistry().load_all("loaders").items()})


@pytest.fixture(scope="session")
def loaders() -> LoaderSet:
    return registered_loaders()
