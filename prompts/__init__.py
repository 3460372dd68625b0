"""Deskbot's Jinja2 templates (system prompt, answer prompt, canned replies), shipped as package data.

A folder given as `override_dir` wins over the shipped templates, file by file. A template may exist in several
languages: `abstain.j2` (English, always there) and `abstain.zh.j2`; `render(name, language=...)` picks the one in
the customer's language and falls back to English. Adding a language means dropping `NAME.<code>.j2` files in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

SHIPPED_DIR = Path(__file__).parent
LANGUAGE_NAMES = {
    "english": "en",
    "chinese": "zh",
    "中文": "zh",
    "汉语": "zh",
    "普通话": "zh",
    "french": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "spanish": "es",
    "español": "es",
    "italian": "it",
    "italiano": "it",
    "portuguese": "pt",
    "português": "pt",
    "dutch": "nl",
    "nederlands": "nl",
}


def language_code(language: str) -> str:
    """ "zh" for "zh-CN", "zh_Hans", "Chinese" or "中文"; "en" for "English"; any other value lower-cased."""
    value = language.strip().lower()
    return LANGUAGE_NAMES.get(value, value.replace("_", "-").split("-")[0])


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

    def render(self, name: str, language: str | None = None, **values: Any) -> str:
        """Template `name` rendered with `values`, in `language` when it has that language, else in English."""
        if language and language_code(language) != "en":
            try:
                template = self._env.get_template(f"{name}.{language_code(language)}.j2")
            except TemplateNotFound:
                pass
            else:
                return template.render(**values).strip()
        return self._env.get_template(f"{name}.j2").render(**values).strip()

    def names(self) -> list[str]:
        names = {name.removesuffix(".j2") for name in self._env.list_templates(extensions=["j2"])}
        return sorted(name for name in names if "." not in name)
