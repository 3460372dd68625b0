"""`[logging]`: text or JSON lines, each with the request, conversation and channel it belongs to."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import LoggingSettings, load_settings
from bot.errors import ConfigError
from bot.logging_setup import configure_logging, current_context, log_context


class Captured:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().err
        return self.text


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    """What the root handler writes to stderr (configure_logging binds the stderr of the moment: capsys's)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield Captured(capsys)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def json_lines(stream: Captured) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_context_and_the_latency(captured: Captured) -> None:
    configure_logging(LoggingSettings(format="json"), logging.INFO)
    log = logging.getLogger("bot.test")
    with log_context(request_id="r-1", conversation_id="c-1", channel="api"):
        log.info("answered %s", "ok", extra={"latency_ms": 12.5})
    log.warning("outside")
    inside, outside = json_lines(captured)
    assert inside["message"] == "answered ok" and inside["level"] == "INFO" and inside["logger"] == "bot.test"
    assert (inside["request_id"], inside["conversation_id"], inside["channel"]) == ("r-1", "c-1", "api")
    assert inside["latency_ms"] == 12.5 and "timestamp" in inside
    assert outside["request_id"] is None and outside["conversation_id"] is None


def test_json_keeps_non_ascii_text_and_names_the_role(captured: Captured) -> None:
    configure_logging(LoggingSettings(format="json"), logging.INFO, role="answers")
    logging.getLogger("bot.test").info("电池型号")
    (line,) = json_lines(captured)
    assert line["message"] == "电池型号" and line["role"] == "answers"
    assert "电池型号" in captured.getvalue()


def test_an_exception_is_inside_its_json_line(captured: Captured) -> None:
    configure_logging(LoggingSettings(format="json"))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("bot.test").exception("turn failed")
    (line,) = json_lines(captured)
    assert "RuntimeError: boom" in str(line["exc_info"])


def test_text_lines_append_the_context_that_is_set(captured: Captured) -> None:
    configure_logging(LoggingSettings(format="text"), logging.INFO)
    with log_context(conversation_id="c-9", channel="slack"):
        logging.getLogger("bot.test").info("answered", extra={"latency_ms": 3.0})
    logging.getLogger("bot.test").info("plain")
    first, second = captured.getvalue().splitlines()
    assert first == "INFO bot.test: answered [conversation_id=c-9 channel=slack latency_ms=3.0]"
    assert second == "INFO bot.test: plain"


def test_the_level_setting_wins_over_the_process_default(captured: Captured) -> None:
    configure_logging(LoggingSettings(level="ERROR"), logging.INFO)
    logging.getLogger("bot.test").warning("hidden")
    assert captured.getvalue() == ""


def test_uvicorn_lines_share_the_handler_but_its_access_log_stays_off(captured: Captured) -> None:
    configure_logging(LoggingSettings(level="INFO"), logging.INFO)
    logging.getLogger("uvicorn.error").info("Uvicorn running")
    assert "INFO uvicorn.error: Uvicorn running" in captured.getvalue()
    # uvicorn's HTTP protocols write an access line per request exactly when this is true (request_log writes ours)
    assert not logging.getLogger("uvicorn.access").hasHandlers()


async def test_concurrent_tasks_keep_their_own_context() -> None:
    async def turn(conversation: str) -> dict[str, str]:
        with log_context(conversation_id=conversation, channel="api"):
            await asyncio.sleep(0.01)
            return current_context()

    first, second = await asyncio.gather(turn("a"), turn("b"))
    assert first["conversation_id"] == "a" and second["conversation_id"] == "b"
    assert current_context() == {}


def test_an_unknown_context_field_is_refused() -> None:
    with pytest.raises(ValueError, match="user"), log_context(user="u-1"):
        pass


def test_the_format_is_a_setting_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_LOGGING__FORMAT", "json")
    assert load_settings().logging.format == "json"
    monkeypatch.setenv("DESKBOT_LOGGING__FORMAT", "xml")
    with pytest.raises(ConfigError, match="DESKBOT_LOGGING__FORMAT"):
        load_settings()


def test_python_warnings_become_json_records(captured: Captured) -> None:
    import warnings

    configure_logging(LoggingSettings(format="json"))
    try:
        warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
        (line,) = json_lines(captured)
    finally:
        logging.captureWarnings(False)
    assert line["logger"] == "py.warnings" and "deprecated thing" in str(line["message"])
