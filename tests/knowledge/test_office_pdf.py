"""PDFs read from their layout (pdfplumber): headings from font sizes, ruled tables as markdown tables."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from knowledge.chunking import Chunker
from knowledge.embedders import HashEmbedder
from knowledge.errors import LoaderError
from knowledge.loaders.base import LoaderSet
from knowledge.loaders.pdf import PdfLoader
from knowledge.loaders.pdf_layout import PdfLayoutLoader

pytest.importorskip("pdfplumber")


def text(x: float, y: float, size: float, words: str) -> str:
    return f"BT /F1 {size} Tf {x} {y} Td ({words}) Tj ET\n"


def ruled_table(x: float, top: float, widths: list[float], rows: list[list[str]], height: float = 20) -> str:
    """Cells with their ruling lines, as office software prints a table."""
    right = x + sum(widths)
    ops = ["0.5 w\n"]
    for number in range(len(rows) + 1):
        y = top - number * height
        ops.append(f"{x} {y} m {right} {y} l S\n")
    left = x
    for width in [0.0, *widths]:
        left += width
        ops.append(f"{left} {top} m {left} {top - len(rows) * height} l S\n")
    for number, row in enumerate(rows):
        cell_x = x
        for width, cell in zip(widths, row, strict=True):
            ops.append(text(cell_x + 4, top - (number + 1) * height + 6, 10, cell))
            cell_x += width
    return "".join(ops)


def pdf_file(path: Path, content: str, title: str | None = None) -> Path:
    """A one-page PDF drawn from a content stream, written by hand (no PDF writer lays out text)."""
    stream = content.encode()
    info = f"<< /Title ({title}) >>".encode() if title else b"<< >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out.write(trailer % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


def shipping_guide(path: Path, title: str | None = None) -> Path:
    content = (
        text(72, 740, 22, "Shipping guide")
        + text(72, 712, 11, "We ship to every country in the European Union.")
        + text(72, 698, 11, "Orders placed before noon leave the warehouse the same day.")
        + text(72, 665, 16, "Delivery times")
        + text(72, 645, 11, "Parcels are handed to the carrier shown below.")
        + ruled_table(
            72,
            630,
            [120, 120, 120],
            [["Country", "Carrier", "Days"], ["Germany", "DHL", "2 to 3"], ["France", "Colissimo", "3 to 5"]],
        )
        + text(72, 530, 13, "Tracking")
        + text(72, 510, 11, "The tracking link arrives by email within one hour.")
        + text(72, 480, 16, "Returns")
        + text(72, 460, 11, "Send parcels back within 30 days.")
    )
    return pdf_file(path, content, title)


def test_headings_come_from_font_sizes_and_the_table_is_a_markdown_table(tmp_path: Path) -> None:
    [document] = PdfLayoutLoader().load(shipping_guide(tmp_path / "shipping.pdf"), tmp_path)
    assert document.title == "Shipping guide"
    assert document.text == (
        "We ship to every country in the European Union. Orders placed before noon leave the warehouse the same day."
        "\n\n## Delivery times\n\nParcels are handed to the carrier shown below."
        "\n\n| Country | Carrier | Days |\n| --- | --- | --- |"
        "\n| Germany | DHL | 2 to 3 |\n| France | Colissimo | 3 to 5 |"
        "\n\n### Tracking\n\nThe tracking link arrives by email within one hour."
        "\n\n## Returns\n\nSend parcels back within 30 days."
    )
    chunks = Chunker(HashEmbedder().count_tokens).split(document)
    assert [chunk.section for chunk in chunks] == ["", "Delivery times", "Delivery times > Tracking", "Returns"]
    assert "| Germany | DHL | 2 to 3 |" in chunks[1].text


def test_the_pdf_title_property_is_the_title(tmp_path: Path) -> None:
    [document] = PdfLayoutLoader().load(shipping_guide(tmp_path / "s.pdf", title="Acme shipping"), tmp_path)
    assert document.title == "Acme shipping"
    assert document.text.startswith("# Shipping guide\n\nWe ship")


def test_a_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = shipping_guide(tmp_path / "plain.pdf")
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="hunter2", algorithm="AES-128")
    with (tmp_path / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    with pytest.raises(LoaderError, match=r"locked\.pdf: the PDF is password-protected"):
        list(PdfLayoutLoader().load(tmp_path / "locked.pdf", tmp_path))


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file"), (b"%PDF-1.4 garbage", "not a readable PDF")])
def test_a_damaged_pdf_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "bad.pdf").write_bytes(content)
    with pytest.raises(LoaderError, match=message):
        list(PdfLayoutLoader().load(tmp_path / "bad.pdf", tmp_path))


def test_the_layout_loader_takes_pdfs_over_the_light_default_when_installed() -> None:
    both = LoaderSet({"pdf-layout": PdfLayoutLoader(), "pdf": PdfLoader()})
    assert isinstance(both.loader_for(Path("a.pdf")), PdfLayoutLoader)
    reversed_order = LoaderSet({"pdf": PdfLoader(), "pdf-layout": PdfLayoutLoader()})
    assert isinstance(reversed_order.loader_for(Path("a.pdf")), PdfLayoutLoader)


def test_without_pdfplumber_the_light_default_keeps_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    both = LoaderSet({"pdf-layout": PdfLayoutLoader(), "pdf": PdfLoader()})
    assert isinstance(both.loader_for(Path("a.pdf")), PdfLoader)
