"""Reading the container files the way their tools do: a Dockerfile's instructions, the DESKBOT_* names in a file,
and whether such a name is a real setting (`bot.config.settings_class`, with every installed channel's sections)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from bot.config import settings_class

SETTING_NAME = re.compile(r"\bDESKBOT_[A-Z0-9_]+")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions in order, continuation lines joined, comments dropped; `stage` is the `FROM ... AS name`."""
    instructions: list[Instruction] = []
    stage = ""
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments.strip()
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def setting_names(text: str) -> set[str]:
    return set(SETTING_NAME.findall(text))


def is_setting(name: str) -> bool:
    """Whether `DESKBOT_<SECTION>__<KEY>` (or `DESKBOT_<FIELD>` at the top) names one setting (not a section)."""
    parts = name.removeprefix("DESKBOT_").lower().split("__")
    model: type[BaseModel] = settings_class()
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None or part == "config_file":
            return False
        annotation = field.annotation
        is_section = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if index == len(parts) - 1:
            return not is_section
        if not is_section:
            return False
        model = annotation  # type: ignore[assignment]
    return False
