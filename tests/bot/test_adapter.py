"""The adapter contract: every registered channel is built from an `AdapterContext`; `CollectingAdapter` for tests."""

from __future__ import annotations

import pytest

from bot.adapter import Adapter, AdapterContext
from bot.collecting_adapter import CollectingAdapter
from bot.config import Section
from bot.plugins import PluginRegistry
from bot.runtime import Runtime
from bot.types import Reply


@pytest.mark.parametrize("name", PluginRegistry().names("adapters"))
def test_every_registered_channel_conforms(name: str, runtime: Runtime) -> None:
    factory = runtime.registry.load("adapters", name)
    for section, model in getattr(factory, "settings_sections", {}).items():
        assert issubclass(model, Section), section
        assert runtime.settings.section(model) is getattr(runtime.settings, section)
    adapter = runtime.adapter(name)
    assert isinstance(adapter, Adapter)


def test_the_context_carries_what_a_channel_needs_and_not_the_runtime(runtime: Runtime) -> None:
    context = runtime.adapter_context()
    assert isinstance(context, AdapterContext)
    assert context.database() is runtime.database()
    assert context.data_dir == runtime.settings.data_dir
    assert not any(isinstance(value, Runtime) for value in vars(context).values())


async def test_collecting_adapter_answers_through_the_responder(runtime: Runtime) -> None:
    adapter = CollectingAdapter(runtime.adapter_context())
    assert isinstance(adapter, Adapter)
    reply = await adapter.send("How do I reset my Nimbus Thermo?", conversation_id="c1")
    await adapter.send("/help", conversation_id="c1")
    assert isinstance(reply, Reply) and reply.conversation_id == "c1"
    [first, second] = adapter.exchanges
    assert "".join(first.deltas).strip() == first.reply.text and first.message.channel == "test"
    assert second.reply.kind == "command"
    assert adapter.replies == [first.reply, second.reply]
