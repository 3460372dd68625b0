"""Log lines for operators: `[logging] format = "text"` (default) or `"json"`, one object a line, in every process.

Each record carries the context of the work it belongs to: `request_id` (set by the HTTP channel for each request),
`conversation_id` and `channel` (set by the `Responder` around each turn, so the engine's stages, the LLM backends
and the answer processes' lines carry them too). The context lives in `contextvars`, which asyncio copies into every
task, so concurrent requests on one event loop never mix their ids. `latency_ms` is on the lines that close a piece
of work (a finished request, an answered turn), passed as `extra`. JSON lines are written by python-json-logger:

    {"timestamp": "...", "level": "INFO", "logger": "bot.responder", "message": "answered", "process": 12,
     "request_id": "3f2a...", "conversation_id": "c-1", "channel": "api", "latency_ms": 412.5, "kind": "generated"}

`configure_logging` is called once per process: by the CLI when it loads its settings, by each uvicorn worker and
each answer process of `deskbot serve` (they are spawned, so nothing is inherited but the environment).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import LoggingSettings

CONTEXT_FIELDS = ("request_id", "conversation_id", "channel")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("timestamp", "levelname", "name", "message", "process")
JSON_RENAMES = {"levelname": "level", "name": "logger"}
UVICORN_ACCESS = "uvicorn.access"

_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"deskbot_log_{name}", default=None) for name in CONTEXT_FIELDS
}


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Attach `fields` (request_id, conversation_id, channel) to every record logged inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {', '.join(sorted(unknown))}")
    tokens = [(_context[name], _context[name].set(value)) for name, value in fields.items() if value is not None]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def current_context() -> dict[str, str]:
    """The context fields set here, by name (those not set are left out)."""
    return {name: value for name, variable in _context.items() if (value := variable.get()) is not None}


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (None where a field is not set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _context.items():
            if not hasattr(record, name):
                setattr(record, name, variable.get())
        return True


class _TextWithContext(logging.Formatter):
    """The text format, with the context fields and the latency that are set appended as `[key=value ...]`."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        shown = [
            f"{name}={value}" for name in (*CONTEXT_FIELDS, "latency_ms") if (value := getattr(record, name, None))
        ]
        return f"{line} [{' '.join(shown)}]" if shown else line


def formatter(log_format: str, role: str | None = None) -> logging.Formatter:
    """The formatter for `log_format` ("text" or "json"); `role` names the kind of process (`answers`), as a
    `role` field in JSON and a `[role]` tag in text."""
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields=JSON_RENAMES,
            static_fields={"role": role} if role else None,
            timestamp=True,
            json_ensure_ascii=False,
        )
    return _TextWithContext(TEXT_FORMAT.replace("%(name)s", f"[{role}] %(name)s") if role else TEXT_FORMAT)


def configure_logging(settings: LoggingSettings, default_level: int = logging.WARNING, role: str | None = None) -> None:
    """One stderr handler on the root logger in the configured format, with the context filter.

    `settings.level` wins over `default_level` (the process's own: WARNING for the CLI, INFO for `-v` and for the
    answer processes). uvicorn's loggers propagate to it, so its lines share the format; its access log stays off
    (`adapters.http.request_log` writes the one line of each request, with its id and latency): uvicorn writes an
    access line whenever `uvicorn.access` has a handler, its own or the root's, whatever its `access_log` said.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings.format, role))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.level or default_level)
    # Python's warnings are lines too: in JSON they become records of `py.warnings`, not free text.
    logging.captureWarnings(settings.format == "json")
    for name in ("uvicorn", "uvicorn.error", UVICORN_ACCESS):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = name != UVICORN_ACCESS


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's `log_config`: leave the handlers `configure_logging` set up in place."""
    return {"version": 1, "disable_existing_loggers": False}
