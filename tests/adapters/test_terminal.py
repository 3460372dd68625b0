"""The terminal REPL on the fast runtime, with piped input (each line one message)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from adapters.terminal import TerminalChat
from bot.llm.fake import FakeLLM, echo_context
from bot.runtime import Runtime
from prompts import PromptLibrary


def chat(runtime: Runtime, lines: str, monkeypatch: pytest.MonkeyPatch) -> str:
    screen = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    TerminalChat(runtime.adapter_context(), Console(file=screen, width=200)).run()
    return screen.getvalue()


def test_answers_stream_with_their_sources(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = chat(runtime, "Which payment methods do you accept?\n/quit\nnever asked\n", monkeypatch)
    assert "bot>" in shown and "(payment-methods)" in shown
    assert "never asked" not in shown


def test_a_failing_stage_shows_the_canned_reply(
    runtime: Runtime, exploding_stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = chat(runtime, "Which payment methods do you accept?\n", monkeypatch)
    assert PromptLibrary().render("error") in shown
    assert exploding_stage not in shown


def test_a_reply_corrected_after_streaming_is_shown_under_a_mark(
    runtime: Runtime, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.answer.mode = "generate"
    fake_llm._script = lambda messages: f"{echo_context(messages)} Shipping costs 999 dollars."
    shown = chat(runtime, "Which payment methods do you accept?\n", monkeypatch)
    assert "(corrected)" in shown and "999" not in shown
    assert "(payment-methods)" in shown
