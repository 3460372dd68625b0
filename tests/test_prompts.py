"""The prompt library: shipped templates, overrides, and canned replies in the customer's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts import SHIPPED_DIR, PromptLibrary, language_code

CANNED = [
    "abstain", "clarify", "closer", "error", "feedback_nothing", "feedback_usage", "handoff", "not_handed_off",
    "rate_limited", "released", "reset", "store_error",
]  # fmt: skip


@pytest.mark.parametrize("name", CANNED)
def test_every_canned_reply_has_a_chinese_version(name: str) -> None:
    library = PromptLibrary()
    chinese = library.render(name, "zh")
    assert chinese != library.render(name) and any("\u4e00" <= char <= "\u9fff" for char in chinese)


def test_a_language_without_templates_falls_back_to_english() -> None:
    library = PromptLibrary()
    assert library.render("abstain", "fr") == library.render("abstain") == library.render("abstain", None)
    assert "/human" in library.render("abstain", "fr")


@pytest.mark.parametrize(
    ("given", "code"), [("zh-CN", "zh"), ("zh_Hans", "zh"), ("Chinese", "zh"), ("中文", "zh"), ("English", "en")]
)
def test_language_names_and_tags_become_codes(given: str, code: str) -> None:
    assert language_code(given) == code


def test_a_language_is_added_by_dropping_templates_in(tmp_path: Path) -> None:
    (tmp_path / "abstain.de.j2").write_text("Dazu habe ich nichts gefunden. Tippen Sie /human.", encoding="utf-8")
    library = PromptLibrary(tmp_path)
    assert library.render("abstain", "de-AT").startswith("Dazu habe ich nichts gefunden")
    assert library.render("abstain", "zh") == PromptLibrary().render("abstain", "zh")


def test_values_reach_the_chinese_templates() -> None:
    assert "4000" in PromptLibrary().render("too_long", "zh", limit=4000)
    assert "Nimbus Home" in PromptLibrary().render("refuse_rules", "zh", company="Nimbus Home")
    assert sorted(SHIPPED_DIR.glob("*.zh.j2")), "the Chinese templates ship as package data (*.j2)"
