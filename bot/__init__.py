"""Deskbot's engine: types, config, plugins, the stage pipeline, LLM backends and the CLI."""

__version__ = "0.1.0"
