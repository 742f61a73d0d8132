"""What the assistant says: the wording of every reply the core builds itself.

Routing (:mod:`bot.assistant`) decides *which* reply; this module decides *how it reads*,
so a change of tone or language touches one file and no control flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.errors import InvalidInput
from bot.handoff.incident import FIELDS_BY_NAME, INCIDENT_FORM
from bot.handoff.tickets import Ticket, TicketState
from bot.models import Action, Answer, Citation, Reply, Status

_MARKER = re.compile(r"\[(\d{1,2})\]")

BUSY = (
    "I'm answering a lot of questions right now and yours would wait too long. "
    "Please try again in a minute."
)
NOTHING_TO_CANCEL = "There is nothing to cancel. Ask me anything about the GenAI policy."
FEEDBACK_HINT = (
    'Write your feedback after "feedback:", for example '
    '"feedback: the policy should allow Copilot for interns".'
)
ASK_PERSON_HINT = (
    'Tell me what to ask them, e.g. "ask a person: can interns use '
    'Copilot?", and I will pass it to the support team.'
)
NOTHING_TO_RATE = "I have no recent answer of mine here to rate."
THANKS_FOR_RATING = "Thanks for the feedback!"
INCIDENT_CANCELLED = (
    "Cancelled: I haven't sent anything to the support team. If you change "
    'your mind, say "report incident".'
)


def answer_reply(answer: Answer, *, answer_id: str | None = None) -> Reply:
    """An answer as a reply: a not-found answer offers a person, an answer its feedback."""
    if answer.status is Status.NOT_FOUND:
        return Reply(
            text=answer.text,
            status=answer.status,
            actions=(Action.ASK_PERSON,),
            answer_id=answer_id,
            language=answer.language,
        )
    return Reply(
        text=answer.text,
        citations=cited_only(answer.text, answer.citations),
        ai_generated=True,
        status=answer.status,
        actions=(Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON),
        answer_id=answer_id,
        language=answer.language,
    )


def cited_only(text: str, citations: tuple[Citation, ...]) -> tuple[Citation, ...]:
    """The citations the text points to with its ``[n]`` markers: a passage the answer
    doesn't use is not listed as a source. Text without markers keeps them all."""
    used = {int(n) for n in _MARKER.findall(text)}
    return tuple(c for c in citations if c.n in used) if used else citations


def incident_intro(first_question: str) -> str:
    return (
        "I'm sorry that happened; let's report it to the AI Support Team now. "
        f'I\'ll ask up to {len(INCIDENT_FORM)} short questions; say "cancel" at any time. '
        "Meanwhile, don't enter the data anywhere again.\n\n" + first_question
    )


NOT_CAUGHT = "I didn't catch that."
NOT_CAUGHT_REVIEW = "I didn't catch that: send the report, edit an answer, or cancel."
WHICH_ANSWER = 'Which answer would you like to change? Say "edit" and its number, e.g. "edit 3".'
BACK_TO_REPORT = "Back to your incident report:"
REVIEW_REMINDER = "Your incident report is waiting above: send it, edit an answer, or cancel."
REVIEW_PROGRESS = "Reporting an AI incident · review before sending"
OFFER_PROGRESS = "Unfinished AI incident report"
STARTERS: tuple[str, ...] = (
    "Can I use ChatGPT for work?",
    "Can I paste customer data into an AI tool?",
    "What do I do if an AI tool leaked personal data?",
    "What does the PCPD say about using generative AI?",
)
GREETING = (
    "Hello! I answer questions about our GenAI policy and the PCPD's guidance, citing the "
    "sections I use. You can also report an AI incident or ask for a person. Try one of these:"
)
YOU_ARE_WELCOME = (
    'You\'re welcome. Ask me anything else about the GenAI policy, or say "report incident" '
    "if something has gone wrong with an AI tool."
)


def incident_progress(step: int | None, total: int) -> str:
    """Where the report stands, e.g. "Reporting an AI incident · step 2 of 7"."""
    return f"Reporting an AI incident · step {step or 1} of {total}"


def incident_review(rows: list[tuple[str, str]]) -> str:
    """What will be filed, numbered so "edit 3" can name an answer."""
    lines = [f"{n}. {label}: {value or '(not given)'}" for n, (label, value) in enumerate(rows, 1)]
    return (
        "Here is what I'll send to the AI Support Team:\n\n"
        + "\n".join(lines)
        + '\n\nSend it, edit an answer (e.g. "edit 3"), or cancel.'
    )


def unfinished_report(moment: str) -> str:
    return (
        f"You have an unfinished incident report from {moment}: continue or discard? "
        "Nothing has been sent yet."
    )


def ingest_report_lines(report: Mapping[str, Any]) -> list[str]:
    """An ingest report (``IngestReport.as_json()``) as lines for the admin who asked: the
    outcome, the counts, then one line per file that failed (it kept its previous version)."""
    chunks = report.get("chunks", {})
    failed = report.get("failed") or []
    lines = [
        "Re-ingestion finished"
        + (f" with {len(failed)} failed file(s)." if failed else ": every file was ingested."),
        f"Documents: {report.get('documents', 0)}. Sections added {chunks.get('added', 0)}, "
        f"updated {chunks.get('updated', 0)}, removed {chunks.get('removed', 0)}, "
        f"unchanged {chunks.get('unchanged', 0)}; {report.get('seconds', 0)} s.",
    ]
    lines += [f"• {f.get('path')}: {f.get('error')}" for f in failed]
    return lines


def greeting() -> Reply:
    return Reply(text=GREETING, starters=STARTERS)


def too_long(length: int, limit: int) -> str:
    return f"That is {length:,} characters; please keep it under {limit:,} and try again."


def incident_reply(ticket: Ticket, policy: Answer, *, ack_hours: float) -> Reply:
    """The confirmation: reference, what happens next, what to do now, and the policy
    sections on incidents (cited when the knowledge base has them)."""
    hours = f"{ack_hours:g} hour{'s' if ack_hours != 1 else ''}"
    citations: tuple[Citation, ...] = ()
    sources = ""
    if policy.status is Status.ANSWERED and policy.citations:
        citations = policy.citations
        sections = "; ".join(f"{c.section.split(' › ')[-1]} [{c.n}]" for c in citations)
        sources = f"\n\nThe policy on this: {sections}."
    text = (
        f"Thank you. Your report is {ticket.reference}.\n\n"
        f"What happens next: the AI Support Team has it now and will acknowledge it within "
        f"{hours}. I'll tell you here when someone picks it up and when it is resolved.\n\n"
        "What to do now: stop using the tool for this task. Keep the evidence: don't delete "
        "the conversation, take screenshots and note the time, the tool and the account. "
        "Don't enter the data again, here or in another tool, to test what happened, and "
        "leave contacting the vendor or the people affected to the response team. Tell your "
        "line manager too." + sources
    )
    return Reply(text=text, citations=citations, reference=ticket.reference)


def rating_passed_on(reference: str) -> Reply:
    """The text names no button: where "Ask a person" is offered, the reply carries it."""
    return Reply(
        text=f"Thanks for telling me. I've passed this to the support team as "
        f"{reference} so the answer can be improved.",
        actions=(Action.ASK_PERSON,),
        reference=reference,
    )


def escalated(reference: str) -> Reply:
    return Reply(
        text=f"I've passed your question to the support team as {reference}, with my "
        "attempt at an answer. A person will get back to you; I'll let you know here when "
        "someone picks it up.",
        reference=reference,
    )


def feedback_logged(reference: str) -> Reply:
    return Reply(
        text=f"Thank you: your feedback is logged as {reference} and the policy team will read it.",
        reference=reference,
    )


def invalid_reply(error: InvalidInput) -> Reply:
    """Problems with a submission, field by field, in the form's own labels."""
    problems = "; ".join(
        f"{FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else name} {reason}"
        for name, reason in error.errors.items()
    )
    return Reply(text=f"I couldn't send that: {problems}.", field_errors=dict(error.errors))


def tickets_text(tickets: list[Ticket]) -> str:
    if not tickets:
        return "You have no reports or questions with the support team."
    lines = ["Your reports and questions with the support team:"]
    for t in tickets:
        who = f", with {t.assignee}" if t.assignee and t.state is TicketState.CLAIMED else ""
        lines.append(f"• {t.reference} ({t.kind.label}): {t.state.value}{who}: {t.title}")
    return "\n".join(lines)
