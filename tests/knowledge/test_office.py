"""Office documents built in the test (python-docx, python-pptx, openpyxl): sections, tables, and bad files."""

from __future__ import annotations

import io
import logging
import time
import zipfile
from pathlib import Path

import pytest

from knowledge.chunking import Chunker
from knowledge.embedders import HashEmbedder
from knowledge.errors import LoaderError
from knowledge.loaders.base import LoaderSet
from knowledge.loaders.office import OfficeLoader

docx = pytest.importorskip("docx")
pptx = pytest.importorskip("pptx")
openpyxl = pytest.importorskip("openpyxl")


def travel_policy(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Travel policy"
    document.add_heading("Travel policy", 0)
    document.add_paragraph("Employees book every trip through the travel portal.")
    document.add_heading("Hotels", 1)
    document.add_paragraph("Hotels up to the city limit below are approved automatically.")
    table = document.add_table(rows=3, cols=2)
    for row, cells in enumerate([("City", "Nightly limit"), ("Berlin", "150 EUR"), ("London", "200 GBP")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.add_heading("Flights", 2)
    document.add_paragraph("Economy class for flights under six hours.")
    document.save(path)
    return path


def chunks_of(path: Path) -> dict[str, str]:
    [document] = OfficeLoader().load(path, path.parent)
    embedder = HashEmbedder()
    return {chunk.section: chunk.text for chunk in Chunker(embedder.count_tokens).split(document)}


def test_a_word_document_keeps_its_headings_as_sections_and_its_table_readable(tmp_path: Path) -> None:
    path = travel_policy(tmp_path / "travel.docx")
    [document] = OfficeLoader().load(path, tmp_path)
    assert (document.id, document.title, document.metadata["format"]) == ("travel", "Travel policy", "docx")
    sections = chunks_of(path)
    assert sections[""] == "Employees book every trip through the travel portal."
    assert "| City | Nightly limit |\n| --- | --- |\n| Berlin | 150 EUR |" in sections["Hotels"]
    assert sections["Hotels > Flights"] == "Economy class for flights under six hours."


def test_every_slide_is_a_section(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    for title, body in [("Onboarding", "Your laptop arrives on day one."), ("VPN", "Install the VPN client first.")]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.save(tmp_path / "welcome.pptx")
    sections = chunks_of(tmp_path / "welcome.pptx")
    assert sections["VPN"] == "Install the VPN client first."
    assert "Slide number" not in "".join(sections.values())


def test_a_workbook_gives_one_line_of_column_value_pairs_per_row(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Plans"
    sheet.append(["Plan", "Price", "Seats"])
    sheet.append(["Basic", "5 USD", 1])
    sheet.append(["Pro", "20 USD", 10])
    workbook.create_sheet("Empty")
    workbook.save(tmp_path / "prices.xlsx")
    [document] = OfficeLoader().load(tmp_path / "prices.xlsx", tmp_path)
    assert document.text == "## Plans\n\nPlan: Basic; Price: 5 USD; Seats: 1\nPlan: Pro; Price: 20 USD; Seats: 10"
    assert (document.metadata["sheets"], document.metadata["rows"]) == (2, 2)


@pytest.mark.slow
def test_a_sheet_of_100k_rows_is_read_to_the_bound_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Orders")
    sheet.append(["Order", "Status"])
    for number in range(100_000):
        sheet.append([number, "shipped"])
    workbook.save(tmp_path / "orders.xlsx")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        [document] = OfficeLoader().load(tmp_path / "orders.xlsx", tmp_path)
    assert time.monotonic() - started < 10
    assert document.metadata["rows"] == 5000
    assert document.text.splitlines()[-1] == "Order: 4999; Status: shipped"
    assert "orders.xlsx: sheet 'Orders' goes past the 5000-row bound" in caplog.text
    assert "only the first 5000 rows are indexed" in caplog.text


def test_a_password_protected_file_is_refused_with_one_line(tmp_path: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = travel_policy(tmp_path / "plain.docx")
    encrypted = io.BytesIO()
    with plain.open("rb") as handle:
        ooxml.OOXMLFile(handle).encrypt("secret", encrypted)
    (tmp_path / "locked.docx").write_bytes(encrypted.getvalue())
    with pytest.raises(LoaderError, match=r"locked.docx: the file is password-protected .* save an unprotected"):
        list(OfficeLoader().load(tmp_path / "locked.docx", tmp_path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a word file", "damaged file: not a valid docx"),
        (b"PK\x03\x04 truncated zip", "damaged file: not a valid docx"),
        (b"", "empty file"),
    ],
)
def test_a_corrupt_docx_is_refused_not_read_as_text(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "broken.docx").write_bytes(content)
    with pytest.raises(LoaderError, match=message):
        list(OfficeLoader().load(tmp_path / "broken.docx", tmp_path))


def test_a_zip_that_is_not_a_word_document_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    (tmp_path / "fake.docx").write_bytes(buffer.getvalue())
    with pytest.raises(LoaderError, match=r"fake\.docx: damaged file: cannot be read"):
        list(OfficeLoader().load(tmp_path / "fake.docx", tmp_path))


def test_office_files_are_picked_by_suffix_from_the_registered_loaders(loaders: LoaderSet, tmp_path: Path) -> None:
    for suffix in (".docx", ".pptx", ".xlsx"):
        assert isinstance(loaders.loader_for(tmp_path / f"a{suffix}"), OfficeLoader)


def test_without_the_office_extra_a_word_file_is_refused_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    path = travel_policy(tmp_path / "travel.docx")
    monkeypatch.setitem(sys.modules, "markitdown", None)
    with pytest.raises(
        LoaderError, match=r"travel\.docx: \.docx files need markitdown: pip install 'deskbot\[office\]'"
    ):
        list(OfficeLoader().load(path, tmp_path))
