import io
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from knowledge.errors import LoaderError
from knowledge.loaders.pdf import PdfLoader


def pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF whose page shows `text` (written by hand: pypdf cannot lay out text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
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
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_pdf_text_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "warranty.pdf"
    path.write_bytes(pdf_bytes("Warranty lasts two years"))

    [document] = PdfLoader().load(path, tmp_path)

    assert document.id == "warranty"
    assert "Warranty lasts two years" in document.text
    assert document.metadata["pages"] == 1


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("Secret plan"))))
    writer.encrypt(user_password="hunter2", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)

    with pytest.raises(LoaderError, match="password-protected"):
        list(PdfLoader().load(path, tmp_path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
        (b"\x00\x01\x02 binary junk" * 50, "not a readable PDF"),
    ],
)
def test_broken_pdf_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(LoaderError, match=message):
        list(PdfLoader().load(path, tmp_path))
