"""Search-only sentence units: pseudo-questions and list items with their lead-in."""

from __future__ import annotations

import numpy as np

from knowledge.chunking import (
    chunk_document,
    heading_question,
    lead_in_items,
    pseudo_questions,
)
from knowledge.documents import Document, Section
from knowledge.index import ALL_UNITS
from knowledge.ranking import FusionWeights, Signals, fuse


def test_rule_sentences_and_heading_become_questions() -> None:
    questions = pseudo_questions(
        "4.2 Customer data",
        (
            "Staff must not paste customer account numbers into a public chatbot.",
            "You may use your company account with Copilot.",
            "Do not record meetings without telling everyone.",
            "This section explains why.",
        ),
    )
    assert heading_question("4.2 Customer data") == "What does the policy say about Customer data?"
    assert questions == (
        "Can I paste customer account numbers into a public chatbot?",
        "Can I use my company account with Copilot?",
        "Can I record meetings without telling everyone?",
    )


def test_list_items_and_table_rows_carry_their_lead_in() -> None:
    text = (
        "Intro line. Never put these into a prompt:\n- customer account numbers\n"
        "- [ ] staff home addresses\n\n"
        "Classification:\n| Label | Use with AI |\n|---|---|\n| Secret | Not allowed |\n\n"
        "The approved tools are: (a) Copilot, for staff; (b) HV Assist; and (c) Firefly."
    )
    assert lead_in_items(text) == (
        "Never put these into a prompt: customer account numbers",
        "Never put these into a prompt: staff home addresses",
        "Classification: Label Use with AI",
        "Classification: Secret Not allowed",
        "The approved tools are: Copilot, for staff",
        "The approved tools are: HV Assist",
        "The approved tools are: Firefly.",
    )


def test_chunks_carry_the_units_beside_their_sentences() -> None:
    section = Section(
        ("Inputs",),
        "Staff must not upload client files:\n- contracts under negotiation\n- payroll exports",
    )
    [chunk] = chunk_document(Document(title="T", source="t.md", sections=(section,)))
    assert chunk.questions == ("Can I upload client files?",)
    assert chunk.items == (
        "Staff must not upload client files: contracts under negotiation",
        "Staff must not upload client files: payroll exports",
    )
    assert chunk.sentences == (
        "Staff must not upload client files:",
        "- contracts under negotiation",
        "- payroll exports",
    )


def test_units_are_searched_but_never_quoted(engine) -> None:
    snapshot = engine.index._current()
    kinds = set(snapshot.unit_kind.tolist())
    assert {"s", "h", "q", "l", "t"} <= kinds
    hits = engine.index.search("Can I paste customer data into the free ChatGPT?", limit=3)
    quoted = {text for hit in hits for text, _ in hit.best_sentences}
    texts = [text for _, text in snapshot.sentences]
    search_only = {t for t, kind in zip(texts, snapshot.unit_kind, strict=True) if kind != "s"}
    quotable = {t for t, kind in zip(texts, snapshot.unit_kind, strict=True) if kind == "s"}
    assert quoted and quoted <= quotable and not quoted & (search_only - quotable)


def test_the_sentence_signal_can_be_limited_to_some_unit_kinds(engine) -> None:
    question = ["What does the policy say about approved AI tools?"]
    every = engine.index.signals(question, units=ALL_UNITS).sentence
    base = engine.index.signals(question, units=frozenset({"s", "h"})).sentence
    assert np.all(every >= base - 1e-6) and np.any(every > base + 1e-3)


def test_authority_prior_only_when_both_kinds_are_indexed() -> None:
    zeros = np.zeros((1, 2), dtype=np.float32)
    signals = Signals(zeros, zeros, zeros, np.array([False]))
    weights = FusionWeights(0.4, 0.2, 0.4, 0.08)
    policy_only = fuse(signals, weights, np.array([True, True]))
    mixed = fuse(signals, weights, np.array([True, False]))
    assert np.all(policy_only == 0)
    assert mixed[0, 0] > mixed[0, 1]
