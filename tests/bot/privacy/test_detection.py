"""The privacy guard against labelled cases: per-type recall and precision, redaction, sources.

``tests/data/pii_cases.jsonl`` holds one case a line: a text and the identifiers a person would
mark in it (type and exact value). Negatives (empty ``expected``) are the look-alikes the guard
must let through: section numbers, dates, amounts, invoice numbers, failed checksums.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.privacy.detection import Finding, Redaction, detect, hkid_check_character, redact

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "tests" / "data" / "pii_cases.jsonl"
SOURCES = ROOT / "knowledge" / "sources"
TYPES = ("HKID", "PHONE", "EMAIL", "CARD", "PASSPORT", "BANK_ACCOUNT", "IP_ADDRESS")


def load_cases() -> list[dict]:
    with CASES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def expected_spans(case: dict) -> set[tuple[str, int, int]]:
    """Each expected value located in the text (repeated values take successive occurrences)."""
    spans: set[tuple[str, int, int]] = set()
    for item in case["expected"]:
        start = case["text"].find(item["value"])
        while (item["type"], start, start + len(item["value"])) in spans:
            start = case["text"].find(item["value"], start + 1)
        assert start >= 0, f"{item['value']!r} is not in {case['text']!r}"
        spans.add((item["type"], start, start + len(item["value"])))
    return spans


def score(cases: list[dict]) -> tuple[Counter, Counter, Counter, list[str]]:
    hits, false_alarms, misses = Counter(), Counter(), Counter()
    errors: list[str] = []
    for case in cases:
        text = case["text"]
        expected = expected_spans(case)
        found = {(f.type, f.start, f.end) for f in detect(text)}
        for kind, _, _ in found & expected:
            hits[kind] += 1
        for kind, start, end in found - expected:
            false_alarms[kind] += 1
            errors.append(f"false {kind} {text[start:end]!r} in {text!r}")
        for kind, start, end in expected - found:
            misses[kind] += 1
            errors.append(f"missed {kind} {text[start:end]!r} in {text!r}")
    return hits, false_alarms, misses, errors


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def test_the_case_file_covers_every_type_and_many_look_alikes() -> None:
    cases = load_cases()
    negatives = [case for case in cases if not case["expected"]]
    per_type = Counter(item["type"] for case in cases for item in case["expected"])

    assert len(cases) >= 320
    assert len(negatives) >= 120
    assert set(per_type) == set(TYPES)
    assert min(per_type.values()) >= 10


def test_recall_and_precision_per_type(capsys: pytest.CaptureFixture[str]) -> None:
    hits, false_alarms, misses, errors = score(load_cases())
    rows = [f"{'type':<13}{'expected':>9}{'found':>7}{'recall':>8}{'precision':>11}"]
    for kind in TYPES:
        found = hits[kind] + false_alarms[kind]
        recall = ratio(hits[kind], hits[kind] + misses[kind])
        rows.append(
            f"{kind:<13}{hits[kind] + misses[kind]:>9}{found:>7}{recall:>8.3f}"
            f"{ratio(hits[kind], found):>11.3f}"
        )
    total_hits, total_found = sum(hits.values()), sum(hits.values()) + sum(false_alarms.values())
    precision = ratio(total_hits, total_found)
    rows.append(
        f"{'all':<13}{total_hits + sum(misses.values()):>9}{total_found:>7}{'':>8}{precision:>11.3f}"
    )
    with capsys.disabled():
        print("\n" + "\n".join(rows + errors))

    for kind in ("HKID", "PHONE", "EMAIL", "CARD"):
        assert ratio(hits[kind], hits[kind] + misses[kind]) >= 0.98, kind
    for kind in ("PASSPORT", "BANK_ACCOUNT", "IP_ADDRESS"):
        assert ratio(hits[kind], hits[kind] + misses[kind]) >= 0.90, kind
    assert precision >= 0.95


@pytest.mark.parametrize(
    ("prefix", "digits", "check"),
    [("A", "123456", "3"), ("E", "364912", "5"), ("AB", "987654", "3"), ("D", "288754", "2")],
)
def test_the_published_hkid_examples_verify(prefix: str, digits: str, check: str) -> None:
    assert hkid_check_character(prefix, digits) == check
    for written in (
        f"{prefix}{digits}({check})",
        f"{prefix}{digits}{check}",
        f"{prefix}{digits} {check}",
        f"{prefix.lower()}{digits}({check})",
        f"{prefix}{digits}（{check}）",
    ):
        assert [f.type for f in detect(f"ID {written} here")] == ["HKID"], written
    for wrong in "0123456789A":
        if wrong != check:
            assert detect(f"ID {prefix}{digits}({wrong}) here") == [], wrong


def test_a_check_character_of_ten_is_written_a() -> None:
    digits = next(f"{n:06d}" for n in range(1000) if hkid_check_character("C", f"{n:06d}") == "A")

    assert redact(f"HKID C{digits}(A)").text == "HKID [HKID]"
    assert redact(f"HKID c{digits}a").text == "HKID [HKID]"


def test_redaction_replaces_every_value_with_its_placeholder() -> None:
    for case in load_cases():
        redaction = redact(case["text"])
        if not case["expected"]:
            assert redaction == Redaction(case["text"], ())
            continue
        for item in case["expected"]:
            assert item["value"] not in redaction.text, case["text"]
            assert f"[{item['type']}]" in redaction.text
        assert redaction.text.count("[") - case["text"].count("[") == len(redaction.findings)


def test_findings_point_into_the_original_text_sorted_and_apart() -> None:
    text = "Mobile 9123 4567, HKID A123456(3), peter.chan@gmail.com, card 4111-1111-1111-1111, mobile 6123 4567"

    redaction = redact(text)

    assert [text[f.start : f.end] for f in redaction.findings] == [
        "9123 4567",
        "A123456(3)",
        "peter.chan@gmail.com",
        "4111-1111-1111-1111",
        "6123 4567",
    ]
    assert all(
        a.end <= b.start for a, b in zip(redaction.findings, redaction.findings[1:], strict=False)
    )
    assert redaction.types == ["PHONE", "HKID", "EMAIL", "CARD"]
    assert redaction.text == "Mobile [PHONE], HKID [HKID], [EMAIL], card [CARD], mobile [PHONE]"
    assert redaction.findings[0] == Finding("PHONE", 7, 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Serial 91234567", []),
        ("tel 91234567", ["PHONE"]),
        ("電話91234567", ["PHONE"]),
        ("Booking H12345678", []),
        ("Passport H12345678", ["PASSPORT"]),
        ("Ref 004-123-456789-001", []),
        ("Account 004-123-456789-001", ["BANK_ACCOUNT"]),
        ("Write to dpo@harbourview.example", []),
        ("Write to peter.chan@harbourview.example", ["EMAIL"]),
        ("Upgrade to version 1.2.3.4", []),
        ("Blocked 1.2.3.4", ["IP_ADDRESS"]),
        ("Rooms 2301-2310", []),
        ("Call 2301-2310", ["PHONE"]),
    ],
)
def test_formats_without_a_checksum_need_corroboration(text: str, expected: list[str]) -> None:
    assert [f.type for f in detect(text)] == expected


def test_text_without_identifiers_comes_back_unchanged() -> None:
    text = "What does DPP3 say about section 4.3, HK$50,000 fines and Cap. 486 on 2025-03-31?"

    assert redact(text) == Redaction(text, ())
    assert redact("") == Redaction("", ())


def test_the_knowledge_sources_hold_no_personal_data() -> None:
    sources = sorted(SOURCES.glob("*.md"))
    if not sources:
        pytest.skip(f"no .md files in {SOURCES} yet: nothing to scan")
    for path in sources:
        text = path.read_text(encoding="utf-8")
        found = [f"{f.type} {text[f.start : f.end]!r}" for f in detect(text)]
        assert found == [], path.name
