"""The privacy guard at the core's entrance: redact a message once, and say what was removed.

:func:`guard` runs :func:`bot.privacy.detection.redact` on what an employee typed; from then on only
the redacted text exists for retrieval, the language model, the store and the logs.
:class:`PrivacyNotice` words the reply's note ("your message contained what looks like an
HKID number ...; these were not stored") and names the policy section on entering personal
data into GenAI tools, looked up once with the answer engine and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import Answer, Citation, Status
from bot.privacy.detection import redact

# Retrieved, not hard-coded, so the notice follows whatever policy the organisation loaded.
PRIVACY_POLICY_QUESTION = "may I enter personal data into AI tools"

TYPE_NAMES = {
    "HKID": "an HKID number",
    "PHONE": "a phone number",
    "EMAIL": "an email address",
    "CARD": "a payment card number",
    "PASSPORT": "a passport number",
    "BANK_ACCOUNT": "a bank account number",
    "IP_ADDRESS": "an IP address",
}


@dataclass(frozen=True)
class Guarded:
    """The message as the rest of the core sees it, and the identifier types removed."""

    text: str
    types: tuple[str, ...]


def guard(text: str) -> Guarded:
    """``text`` with personal identifiers replaced by ``[TYPE]`` placeholders."""
    redaction = redact(text)
    return Guarded(text=redaction.text, types=tuple(redaction.types))


def describe(types: Sequence[str]) -> str:
    """``("HKID", "PHONE")`` -> "an HKID number and a phone number"."""
    names = [TYPE_NAMES.get(kind, f"a {kind.lower().replace('_', ' ')}") for kind in types]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class PrivacyNotice:
    """The note added to a reply whose message held personal identifiers.

    ``ask`` answers a question (``Answerer.answer``); the policy section it cites first for
    :data:`PRIVACY_POLICY_QUESTION` is kept once found. Safe to call from threads.
    """

    def __init__(self, ask: Callable[[str], Answer]) -> None:
        self._ask = ask
        self._section: Citation | None = None
        self._lock = threading.Lock()

    def section(self) -> Citation | None:
        """The policy section on personal data in GenAI tools, or None if none answers."""
        with self._lock:
            if self._section is None:
                answer = self._ask(PRIVACY_POLICY_QUESTION)
                if answer.status is Status.ANSWERED and answer.citations:
                    self._section = answer.citations[0]
            return self._section

    def text(self, types: Sequence[str]) -> str:
        """What to tell the employee; the identifiers themselves are never repeated."""
        found = describe(types)
        plural = len(types) > 1
        text = (
            f"Privacy note: your message contained what looks like {found}. I removed "
            f"{'them' if plural else 'it'} before answering and did not store "
            f"{'them' if plural else 'it'}. Please don't enter personal data into AI tools, "
            "this one included, unless the policy allows it"
        )
        section = self.section()
        if section is None:
            return text + "."
        heading = section.section.split(" › ")[-1] if section.section else section.document
        return f"{text}: see \u201c{heading}\u201d in {section.document}."
