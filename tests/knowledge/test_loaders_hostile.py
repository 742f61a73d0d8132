"""Hostile or broken files cost only themselves, with a reason, in every format."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from bot.errors import DocumentError
from knowledge import loaders
from knowledge.loaders import load_document


def raw_pdf(resources: bytes) -> bytes:
    """A minimal one-page PDF whose page resources are ``resources`` (with a valid xref)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources 4 0 R >>",
        resources,
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Use of AI", level=1)
    document.add_paragraph("Staff may use approved tools.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def rewrite_docx(original: bytes, part: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(original))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, content if item.filename == part else source.read(item))
    return out.getvalue()


def test_a_pdf_nested_past_the_recursion_limit_is_refused(tmp_path: Path):
    path = tmp_path / "deep.pdf"
    path.write_bytes(raw_pdf(b"[" * 50_000 + b"]" * 50_000))

    with pytest.raises(DocumentError, match="not a readable PDF"):
        load_document(path, tmp_path)


def test_a_pdf_with_too_many_pages_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(loaders, "MAX_PDF_PAGES", 3)
    writer = PdfWriter()
    for _ in range(4):
        writer.add_blank_page(100, 100)
    path = tmp_path / "long.pdf"
    with path.open("wb") as handle:
        writer.write(handle)

    with pytest.raises(DocumentError, match="4 pages"):
        load_document(path, tmp_path)


def test_a_docx_with_broken_xml_is_refused(tmp_path: Path):
    path = tmp_path / "broken.docx"
    path.write_bytes(rewrite_docx(docx_bytes(), "word/document.xml", b"<w:document><w:body"))

    with pytest.raises(DocumentError, match="not a readable Word document"):
        load_document(path, tmp_path)


def test_a_docx_archive_bomb_is_refused_before_unpacking(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(loaders, "MAX_UNPACKED_BYTES", 1024 * 1024)
    padding = b"<!-- " + b" " * (2 * 1024 * 1024) + b" -->"
    path = tmp_path / "bomb.docx"
    path.write_bytes(rewrite_docx(docx_bytes(), "word/styles.xml", padding))
    assert path.stat().st_size < 64 * 1024

    with pytest.raises(DocumentError, match="would unpack to 2 MB"):
        load_document(path, tmp_path)


def test_an_ingest_with_hostile_files_keeps_the_rest(make_engine, sources: Path):
    (sources / "deep.pdf").write_bytes(raw_pdf(b"[" * 50_000 + b"]" * 50_000))
    (sources / "broken.docx").write_bytes(
        rewrite_docx(docx_bytes(), "word/document.xml", b"<w:document><w:body")
    )

    report = make_engine(sources=[sources]).ingest()

    assert sorted(Path(f.path).name for f in report.failed) == ["broken.docx", "deep.pdf"]
    assert report.documents == 4
