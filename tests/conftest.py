"""Shared fixtures: an isolated data folder, fast settings (HashEmbedder + FakeLLM), a runtime built on them and a
fake Slack Web API on loopback."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.http.slack.fake_web_api import FakeSlackWebApi
from bot.config import Settings, load_settings
from bot.llm.fake import FakeLLM
from bot.plugins import PluginRegistry
from bot.runtime import Runtime

pytest_plugins = ["tests.postgres_server"]  # the `postgres_url` fixture: a real PostgreSQL on loopback

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DESKBOT_ variable or ./deskbot.toml from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("DESKBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for de-quantised models per test session, so the GGUF is converted once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for fast tests: the sample knowledge, HashEmbedder, FakeLLM, a private data folder."""
    loaded = load_settings(data_dir=tmp_path / "data")
    loaded.knowledge.embedder = "hash"
    loaded.knowledge.embedder_model = "hash-256"
    loaded.llm.backend = "fake"
    loaded.answer.min_score = 0.1
    return loaded


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def registry(fake_llm: FakeLLM) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _settings: fake_llm)
    return registry


@pytest.fixture
def runtime(settings: Settings, registry: PluginRegistry) -> Runtime:
    return Runtime(settings, registry)


class ExplodingStage:
    """A stage that fails in the middle of a turn, with text no customer may see."""

    SECRET = "secret internals: password=hunter2"

    def __init__(self, _services: object) -> None:
        pass

    async def __call__(self, turn: object, call_next: object) -> object:
        raise RuntimeError(self.SECRET)


@pytest.fixture
def exploding_stage(settings: Settings, registry: PluginRegistry) -> str:
    """Put a failing stage into the pipeline (before the answering stages); returns the text it must not leak."""
    registry.register("stages", "explode", ExplodingStage)
    stages = settings.pipeline.stages
    stages.insert(stages.index("retrieve") + 1, "explode")
    return ExplodingStage.SECRET


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackWebApi]:
    """Slack's Web API played on loopback (`adapters.http.slack.fake_web_api`), for the tests that post replies."""
    fake = await FakeSlackWebApi().start()
    yield fake
    await fake.stop()
