"""A small policy corpus with questions, written by the tests themselves (pool layout).

Used where a test needs "an organisation's own policy" that the bundled sources are not:
calibration on an unseen index, ``policybot eval --source`` and the pool mode.
"""

from __future__ import annotations

import json
from pathlib import Path

POLICY = """\
# Lantern Works: using AI assistants at work

This page sets out how staff of Lantern Works may use AI assistants.

## 1. Approved tools

Only the company's licensed chat assistant and the code helper in our editor are approved.
Any other AI tool needs written approval from the IT service desk before first use.

## 2. Customer information

Never type customer names, addresses or account numbers into an AI assistant.
Remove anything that identifies a person before you paste text into a prompt.

## 3. Checking what the assistant wrote

A person must read and correct every AI draft before it is sent to a customer.
You remain responsible for the accuracy of anything you publish.

## 4. Reporting a mistake

If confidential data went into an AI tool by accident, tell the security team within one hour.
Use the incident form on the intranet, or phone the security hotline.

## 5. Training

Everyone who uses an AI assistant completes the short online course once a year.
"""

QUESTIONS = [
    {"q": "which ai tools am i allowed to use", "gold": ["1. Approved tools"]},
    {
        "q": "can I paste a client's account number into the chatbot",
        "gold": ["2. Customer information"],
    },
    {"q": "do I have to review the AI draft before emailing a customer", "gold": ["3. Checking"]},
    {"q": "I put secret data into an AI tool by mistake, who do I tell", "gold": ["4. Reporting"]},
    {"q": "is there a course I need to take", "gold": ["5. Training"]},
    {"q": "who is this page for", "gold": ["Lantern Works"]},
    {"q": "how many days of annual leave do I get", "kind": "out"},
    {"q": "what is the capital of Peru", "kind": "out"},
]


def write_corpus(folder: Path, *, name: str = "lantern-works") -> Path:
    """Write ``folder/name/corpus/policy.md`` and ``questions.jsonl``; return the corpus folder."""
    root = folder / name
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "policy.md").write_text(POLICY, encoding="utf-8")
    lines = "".join(json.dumps(row) + "\n" for row in QUESTIONS)
    (root / "questions.jsonl").write_text(lines, encoding="utf-8")
    return root
