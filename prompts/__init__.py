"""Deskbot's Jinja2 templates (system prompt, answer prompt, canned replies), shipped as package data.

A folder given as `override_dir` wins over the shipped templates, file by file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

SHIPPED_DIR = Path(__file__).parent


class PromptLibrary:
    def __init__(self, override_dir: Path | None = None) -> None:
        folders = [str(override_dir)] if override_dir is not None else []
        folders.append(str(SHIPPED_DIR))
        self._env = Environment(
            loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, name: str, **values: Any) -> str:
        return self._env.get_template(f"{name}.j2").render(**values).strip()

    def names(self) -> list[str]:
        return sorted(name.removesuffix(".j2") for name in self._env.list_templates(extensions=["j2"]))
