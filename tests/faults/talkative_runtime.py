"""The runtime of a `deskbot serve` whose chat replies stream in pieces: a FakeLLM that writes its grounded sentence
twice, a word every `WORD_DELAY_S`, after `DESKBOT_FAULTS_LLM_DELAY_S` (so each sentence is released on its own,
well apart, and a test can see the stream arrive in pieces)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tests.faults.serve_process import LLM_DELAY_ENV

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.types import ChatMessage

WORD_DELAY_S = 0.1


def twice(messages: Sequence[ChatMessage]) -> str:
    from bot.llm.fake import echo_context

    return f"{echo_context(messages)} {echo_context(messages)}"


def talkative_runtime() -> Runtime:
    from bot.config import load_settings
    from bot.llm.fake import FakeLLM
    from bot.plugins import PluginRegistry
    from bot.runtime import Runtime

    llm = FakeLLM(twice, delay_s=WORD_DELAY_S, first_token_delay_s=float(os.environ.get(LLM_DELAY_ENV, "0")))
    llm.calls = deque(maxlen=10)  # type: ignore[assignment]  # it records every prompt otherwise
    registry = PluginRegistry()
    registry.register("llm", "fake", lambda _settings: llm)
    return Runtime(load_settings(), registry)
