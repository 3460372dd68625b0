"""Errors of the engine layer; all are `DeskbotError`s with one-line, user-facing messages."""

from knowledge.errors import DeskbotError


class ConfigError(DeskbotError):
    """deskbot.toml or a DESKBOT_ variable is invalid; the message names the key and the file."""


class PluginError(DeskbotError):
    """A plugin named in config is not installed or fails to load."""


class LLMError(DeskbotError):
    """The language model failed to load or to answer."""


class LLMTimeoutError(LLMError):
    """The language model did not answer in time."""


__all__ = ["ConfigError", "DeskbotError", "LLMError", "LLMTimeoutError", "PluginError"]
