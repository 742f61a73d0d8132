from pathlib import Path

import docx
import pytest

from bot.errors import DocumentError
from knowledge.loaders import load_document
from tests.helpers import write_text_pdf


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_and_heading_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.md",
        "---\ntitle: Acme AI Policy\nversion: '3.1'\nsource_url: https://intra/ai\nkind: policy\n---\n"
        "# Ignored Title Heading\n\nIntro words.\n\n## 4. Input of information\n\nLead-in.\n\n"
        "### 4.3 Personal data\n\nNo HKID numbers.\n\n```\n# not a heading\n```\n",
    )
    doc = load_document(path, tmp_path)
    assert doc.title == "Acme AI Policy"
    assert doc.version == "3.1"
    assert doc.source == "https://intra/ai"
    labels = [s.label for s in doc.sections]
    assert labels == ["", "4. Input of information", "4. Input of information › 4.3 Personal data"]
    assert "# not a heading" in doc.sections[-1].text


def test_markdown_title_falls_back_to_top_heading_then_file_name(tmp_path: Path) -> None:
    with_heading = load_document(
        write(tmp_path, "a.md", "# Real Title\n\n## One\ntext\n"), tmp_path
    )
    assert with_heading.title == "Real Title"
    assert with_heading.version is None
    without = load_document(
        write(tmp_path, "my-policy.md", "## One\ntext\n## Two\nmore\n"), tmp_path
    )
    assert without.title == "my policy"
    assert without.source == "my-policy.md"
    assert [s.label for s in without.sections] == ["One", "Two"]


def test_plain_text_numbered_headings(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.txt", "Preamble.\n\n1. Scope\nAll staff.\n\n1.1 Contractors\nThey too.\n"
    )
    doc = load_document(path, tmp_path)
    assert [s.label for s in doc.sections] == ["", "1. Scope", "1. Scope › 1.1 Contractors"]


def test_html_headings_and_title(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.html",
        "<html><head><title>Web Policy</title><script>var x = 1;</script></head><body>"
        "<h1>Web Policy</h1><p>Intro.</p><h2>2. Tools</h2><p>Only <b>approved</b> tools.</p>"
        "<h3>2.1 Copilot</h3><ul><li>Allowed.</li></ul></body></html>",
    )
    doc = load_document(path, tmp_path)
    assert doc.title == "Web Policy"
    sections = {s.label: s.text for s in doc.sections}
    assert sections["2. Tools"] == "Only approved tools."
    assert sections["2. Tools › 2.1 Copilot"] == "Allowed."
    assert all("var x" not in text for text in sections.values())


def test_docx_heading_styles_become_sections(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Word Policy", style="Title")
    document.add_heading("5. Output", level=1)
    document.add_paragraph("Check every output.")
    document.add_heading("5.2 Storage", level=2)
    document.add_paragraph("Store on SharePoint only.")
    path = tmp_path / "p.docx"
    document.save(str(path))
    doc = load_document(path, tmp_path)
    assert doc.title == "Word Policy"
    assert {s.label: s.text for s in doc.sections} == {
        "5. Output": "Check every output.",
        "5. Output › 5.2 Storage": "Store on SharePoint only.",
    }


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.pdf"
    write_text_pdf(
        path,
        [["PDF Policy", "1. Scope", "Applies to all staff."], ["2. Retention", "Keep 30 days."]],
        title="PDF Policy",
    )
    doc = load_document(path, tmp_path)
    assert doc.title == "PDF Policy"
    by_label = {s.label: s for s in doc.sections}
    assert by_label["2. Retention"].location == "p. 2"
    assert "Keep 30 days." in by_label["2. Retention"].text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("bad.docx", b"PK\x03\x04 broken zip", "not a readable Word document"),
        ("empty.md", b"", "file is empty"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
        ("fm.md", b"---\ntitle: [unclosed\n---\ntext", "front matter is not valid YAML"),
        ("x.xyz", b"data", "unsupported file type"),
    ],
)
def test_unreadable_files_raise_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        load_document(path, tmp_path)


def test_markdown_list_items_and_table_rows_keep_a_line_each(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules.md",
        "# Rules\n\n## Data\n\nNever share:\n- passwords or\n  access tokens\n- home addresses\n\n"
        "| Label | AI use |\n|---|---|\n| Public | Allowed |\n| Secret | Not allowed |\n",
    )
    section = load_document(path, tmp_path).sections[-1]
    assert section.text == (
        "Never share:\n- passwords or access tokens\n- home addresses\n\n"
        "| Label | AI use |\n| Public | Allowed |\n| Secret | Not allowed |"
    )
