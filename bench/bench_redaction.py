"""Redaction cost per message: ``bot.privacy.detection.redact`` against two trivial
baselines, same run.

Run: ``python bench/bench_redaction.py``. Prints p50/p95/mean in microseconds per call for:

- redact: the full guard (all seven types), as it runs in a long-lived process.
- redact, cold: the same with the phone-validation cache emptied before every call (each
  phone-like number pays a full libphonenumber parse).
- email-only regex: one precompiled email pattern and ``sub`` (what a minimal guard costs).
- str.replace: replacing one fixed string (the floor for touching the text at all).

Two corpora: the texts of ``tests/data/pii_cases.jsonl`` (short, dense with identifiers) and
typical 100-400 character policy questions (mostly without identifiers, as in production).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import privacy  # noqa: E402
from bot.privacy.detection import redact  # noqa: E402

CASES = ROOT / "tests" / "data" / "pii_cases.jsonl"
ROUNDS = 20

QUESTION_PARTS = [
    "Can I use ChatGPT to summarise the minutes of yesterday's project meeting with the vendor?",
    "Our team wants to try Copilot for drafting replies to customer complaints in Cantonese.",
    "Does section 4.3 of the policy allow uploading anonymised spreadsheets to an approved tool?",
    "What should I do if I pasted a client's details into a public chatbot by mistake last week?",
    "Under DPP3 can we reuse HR records collected in 2019 to train an internal model?",
    "The budget is HK$50,000 for the pilot; who approves it and how long does approval take?",
    "Is Gemini on the Approved AI Tools Register, and which data classes may go into it?",
    "My manager asked me to check the transcript before 2025-03-31; is an AI summary acceptable?",
    "Please call me on 9123 4567 or email peter.chan@gmail.com about the incident INC-2026-0042.",
    "The customer's HKID A123456(3) appeared in the chat log; must we report it within 2 hours?",
    "請問可以用生成式AI處理客戶的投訴嗎？需要甚麼批准？",
    "How long do we keep prompts and outputs, and who can see them under version 2.0.1?",
]


def questions(count: int, seed: int = 7) -> list[str]:
    """Questions of 100-400 characters built from typical parts (about 1 in 6 has an identifier)."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        text = ""
        target = rng.randint(100, 400)
        while len(text) < target:
            text += rng.choice(QUESTION_PARTS) + " "
        out.append(text[:400].strip())
    return out


EMAIL_ONLY = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def email_only(text: str) -> str:
    return EMAIL_ONLY.sub("[EMAIL]", text)


def str_replace(text: str) -> str:
    return text.replace("peter.chan@gmail.com", "[EMAIL]")


def redact_cold(text: str) -> object:
    privacy._valid_phone.cache_clear()
    return redact(text)


def measure(function: Callable[[str], object], texts: list[str]) -> list[float]:
    """Microseconds per call, one sample per text per round (first round discarded: warm-up)."""
    samples: list[float] = []
    for round_number in range(ROUNDS + 1):
        for text in texts:
            started = time.perf_counter()
            function(text)
            elapsed = (time.perf_counter() - started) * 1e6
            if round_number:
                samples.append(elapsed)
    return samples


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def main() -> None:
    cases = [json.loads(line)["text"] for line in CASES.read_text(encoding="utf-8").splitlines()]
    corpora = {
        f"pii_cases ({len(cases)} texts, mean {statistics.mean(map(len, cases)):.0f} chars)": cases,
    }
    typical = questions(300)
    corpora[
        f"questions ({len(typical)} texts, mean {statistics.mean(map(len, typical)):.0f} chars)"
    ] = typical
    systems: dict[str, Callable[[str], object]] = {
        "redact": redact,
        "redact, cold": redact_cold,
        "email-only regex": email_only,
        "str.replace": str_replace,
    }
    print(f"{ROUNDS} rounds, microseconds per call")
    for corpus, texts in corpora.items():
        print(f"\n{corpus}")
        print(f"  {'system':<18}{'p50':>8}{'p95':>8}{'mean':>8}")
        for name, function in systems.items():
            samples = measure(function, texts)
            print(
                f"  {name:<18}{percentile(samples, 50):>8.1f}{percentile(samples, 95):>8.1f}"
                f"{statistics.mean(samples):>8.1f}"
            )


if __name__ == "__main__":
    main()
