"""Zendesk and Intercom article exports (recorded in their APIs' documented shapes) as documents and filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.chunking import Chunker
from knowledge.embedders import HashEmbedder
from knowledge.errors import LoaderError
from knowledge.loaders.base import LoaderSet
from knowledge.loaders.helpdesk import HelpdeskExportLoader
from knowledge.retrievers.hybrid import HybridRetriever

FIXTURES = Path(__file__).parent.parent / "fixtures" / "helpdesk"


def load(name: str) -> list:
    return list(HelpdeskExportLoader().load(FIXTURES / name, FIXTURES))


def test_a_zendesk_export_keeps_url_section_labels_and_updated_time() -> None:
    plan, security = load("zendesk_articles.json")  # the draft is left out
    assert plan.id == "zendesk-360001234567" and plan.title == "Change your plan"
    assert plan.source == "https://acme.zendesk.com/hc/en-us/articles/360001234567-Change-your-plan"
    assert plan.metadata == {
        "format": "zendesk",
        "url": plan.source,
        "section_name": "Billing and plans",
        "section_id": "360000111222",
        "category": "Billing",
        "labels": ["billing", "plans"],
        "updated": "2026-10-18T16:40:05Z",
        "locale": "en-us",
        "language": "en",
    }
    assert security.metadata["section_name"] == "Account security"
    assert "- Choose Security , then Enable 2FA ." in security.text


def test_article_bodies_keep_headings_as_sections_and_tables_readable() -> None:
    plan, _ = load("zendesk_articles.json")
    sections = {chunk.section: chunk.text for chunk in Chunker(HashEmbedder().count_tokens).split(plan)}
    assert sections[""] == "Account owners can switch plans at any time from Settings > Billing ."
    assert sections["Upgrades"] == "An upgrade takes effect at once and the difference is charged pro rata."
    assert "| Plan | Agents |\n| --- | --- |\n| Team | 5 |\n| Growth | 25 |" in sections["Downgrades"]


def test_an_intercom_export_keeps_url_collection_tags_and_updated_time() -> None:
    [contacts] = load("intercom_articles.json")  # the draft is left out
    assert contacts.id == "intercom-6871119"
    assert contacts.source == "https://help.acme.io/en/articles/6871119-export-your-contacts"
    assert contacts.metadata["labels"] == ["contacts", "export"]
    assert contacts.metadata["section_id"] == "125685" and contacts.metadata["section_type"] == "collection"
    assert contacts.metadata["updated"] == "2026-09-21T14:13:20+00:00"
    assert contacts.text.startswith("Download every contact as a CSV file\n\nYou can export contacts")
    assert "## Start an export" in contacts.text and "### Large exports" in contacts.text


def test_labels_sections_and_updated_times_filter_retrieval(tmp_path: Path, loaders: LoaderSet) -> None:
    shutil.copytree(FIXTURES, tmp_path / "exports")
    kb = KnowledgeBase(tmp_path / "index", HashEmbedder(), loaders)
    report = kb.writer.sync([tmp_path / "exports"])
    assert (report.added, report.errors) == (3, [])
    retriever = HybridRetriever(kb.store)
    by_label = retriever.retrieve("how do I change things", 10, {"labels": "security"})
    assert {hit.chunk.document_id for hit in by_label} == {"zendesk-360007654321"}
    by_section = retriever.retrieve("plans", 10, {"section_name": "Billing and plans"})
    assert {hit.chunk.document_id for hit in by_section} == {"zendesk-360001234567"}
    either = retriever.retrieve("export contacts plans", 10, {"labels": ["export", "plans"]})
    assert {hit.chunk.document_id for hit in either} == {"zendesk-360001234567", "intercom-6871119"}
    assert all(hit.chunk.source.startswith("https://") for hit in either)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"tickets": []}', "not a help-desk article export; expected"),
        ("[1, 2]", "not a help-desk article export"),
        ('{"articles": [{"id": 1}]}', r"article 1: article without 'html_url'"),
        ('{"articles": ["x"]}', "article 1: an article must be a JSON object"),
    ],
)
def test_an_export_that_is_not_one_is_refused_clearly(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "export.json").write_text(content)
    with pytest.raises(LoaderError, match=message):
        list(HelpdeskExportLoader().load(tmp_path / "export.json", tmp_path))


def test_fixtures_are_in_the_documented_api_shapes() -> None:
    zendesk = json.loads((FIXTURES / "zendesk_articles.json").read_text())
    assert {"html_url", "section_id", "label_names", "updated_at", "body", "locale"} <= set(zendesk["articles"][0])
    intercom = json.loads((FIXTURES / "intercom_articles.json").read_text())
    assert intercom["type"] == "list" and intercom["data"][0]["type"] == "article"
