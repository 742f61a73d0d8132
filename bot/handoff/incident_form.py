"""The incident report's fields, defined once: the conversation asks them in order, and the
Slack modal, the Teams card and the web form show them with these labels.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IncidentField:
    """One thing the report needs: its name in :class:`bot.handoff.tickets.IncidentReport`, a
    label for forms, the question asked in conversation, whether a form must fill it, and
    whether its answer is a description (a multiline input).

    Only "what happened" is required: a report with gaps beats no report, and the response
    team follows up. The conversation still asks every question ("don't know" is accepted).
    """

    name: str
    label: str
    question: str
    required: bool = False
    multiline: bool = False


INCIDENT_FORM: tuple[IncidentField, ...] = (
    IncidentField(
        "what_happened",
        "What happened",
        "What happened? A sentence or two is enough.",
        required=True,
        multiline=True,
    ),
    IncidentField(
        "tool",
        "AI tool and account",
        "Which AI tool or service was involved (for example ChatGPT, Copilot, Gemini), "
        "and which account: your work account, a personal one, or someone else's?",
    ),
    IncidentField(
        "data_involved",
        "Personal data or confidential information involved, and roughly how much",
        "Was personal data or confidential information involved? If so, what kind and "
        'roughly how much (for example "about 200 customer names and phone numbers")? '
        "Describe it; please don't paste the data itself.",
        multiline=True,
    ),
    IncidentField(
        "happened_at",
        "When it happened",
        "When did it happen? A rough date and time is fine.",
    ),
    IncidentField(
        "discovered_at",
        "When it was discovered",
        'When did you notice it? ("Straight away" is a fine answer.)',
    ),
    IncidentField(
        "contained",
        "Contained?",
        "Is it contained, or could the information still be reaching people (for example a "
        'shared link that is still open)? "Don\'t know" is a fine answer.',
    ),
    IncidentField(
        "contact",
        "How to contact you",
        "Last one: how should the support team reach you: here, a call, or email? No need "
        "to type your number or address; they can look you up.",
    ),
)
FIELDS_BY_NAME = {f.name: f for f in INCIDENT_FORM}
INCIDENT_FIELDS = tuple(f.name for f in INCIDENT_FORM)
