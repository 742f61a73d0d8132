"""Block Kit for the core's replies: pure functions from core data to JSON-ready dicts.

Nothing here calls Slack; every function is a plain transformation a unit test can check.
Limits come from Slack's Block Kit reference: a section's text at most 3000 characters, a
button's value at most 2000, a message at most 50 blocks, a ``context_actions`` block at most
5 elements; ``block_id`` must be unique within a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.labels import ENGLISH, Labels, labels_for
from bot.limits import truncate
from bot.models import COMMANDS, Action, Citation, Reply, Status
from bot.replies import ingest_report_lines

Block = dict[str, Any]

MAX_SECTION_TEXT = 3000
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000
MAX_BLOCKS = 50

# action_ids: the interaction handlers match on these.
FEEDBACK = "policybot_feedback"
REPORT_INCIDENT = "policybot_report_incident"
ASK_PERSON = "policybot_ask_person"
# A step of the incident conversation or a starter question: the button says its value
# as the person's next message in the thread (``SAY`` + a suffix keeps action_ids unique).
SAY = "policybot_say_"
FEEDBACK_POSITIVE = "helpful"
FEEDBACK_NEGATIVE = "not_helpful"

AI_LABEL = f":sparkles: {ENGLISH.ai_generated}"
WORKING_STATUS = "is searching the policies…"
GREETING = (
    "Hi! Ask me about our generative-AI policy or the PCPD's guidance. "
    "I answer only from those documents and cite the sections I used."
)
SUGGESTED_PROMPTS: tuple[tuple[str, str], ...] = (
    ("Can I use ChatGPT for work?", "Can I use ChatGPT for work?"),
    ("Customer data in AI tools", "Can I paste customer data into an AI tool?"),
    ("Report a problem", "What do I do if an AI tool leaked personal data?"),
)
HELP_TEXT = (
    "*/genai-policy QUESTION* asks me about our generative-AI policy and the PCPD's guidance, "
    "for example `/genai-policy can I paste customer data into ChatGPT?`\n"
    "*/genai-policy report* reports an AI incident (a leak, a wrong or harmful output).\n"
    "*/genai-policy feedback COMMENT* tells the policy team what you think.\n"
    "*/genai-policy help* shows this.\n"
    "You can also message me directly, or @-mention me in a channel: I answer in the thread."
)
ANSWER_FAILED_TEXT = (
    "Sorry, I could not post my answer here. Please try again in a minute, "
    "or use /genai-policy report if it keeps happening."
)
SOMETHING_WENT_WRONG_TEXT = (
    "Sorry, something went wrong on my side while answering. Please try again in a minute."
)

_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MRKDWN_SPECIAL = re.compile(r"[&<>]")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in message text."""
    return _MRKDWN_SPECIAL.sub(lambda match: _MRKDWN_ESCAPES[match.group()], text)


def _split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Split at a paragraph, else a sentence, else a space in the second half of each
    ``limit``-character window; a hard cut only when there is none."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = limit
        for separator, keep in (("\n\n", 0), (". ", 1), (" ", 0)):
            position = window.rfind(separator)
            if position > limit // 2:
                cut = position + keep
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
    if block_id:
        block["block_id"] = block_id
    return block


def button(
    text: str, action_id: str, value: str = "", *, style: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
    }
    if value:
        element["value"] = truncate(value, MAX_BUTTON_VALUE)
    if style:
        element["style"] = style
    return element


def is_link(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def source_line(citation: Citation) -> str:
    """``[n] Document › Section · version 2.0 · p. 3 · link``: one line per citation."""
    parts = [f"*[{citation.n}]* {escape(citation.document)}"]
    if citation.section:
        parts[0] += f" › {escape(citation.section)}"
    if citation.version:
        parts.append(f"version {escape(citation.version)}")
    if citation.location:
        parts.append(escape(citation.location))
    if is_link(citation.source):
        parts.append(f"<{citation.source}|link>")
    elif citation.source:
        parts.append(f"`{escape(citation.source)}`")
    return truncate(" · ".join(parts), 500)


def sources_block(citations: Sequence[Citation], labels: Labels = ENGLISH) -> Block:
    lines = [f"*{labels.sources}*", *(source_line(citation) for citation in citations)]
    return section(truncate("\n".join(lines), MAX_SECTION_TEXT), block_id="sources")


def feedback_block(value: str = "", labels: Labels = ENGLISH) -> Block:
    """Thumbs up/down in a ``context_actions`` block; both values carry ``value`` after a '|'."""
    suffix = f"|{value}" if value else ""
    return {
        "type": "context_actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": labels.helpful},
                    "accessibility_label": labels.helpful_hint,
                    "value": truncate(FEEDBACK_POSITIVE + suffix, MAX_BUTTON_VALUE),
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": labels.not_helpful},
                    "accessibility_label": labels.not_helpful_hint,
                    "value": truncate(FEEDBACK_NEGATIVE + suffix, MAX_BUTTON_VALUE),
                },
            }
        ],
    }


def action_buttons(
    actions: Iterable[Action], value: str = "", labels: Labels = ENGLISH
) -> Block | None:
    actions = tuple(actions)
    elements = []
    if Action.REPORT_INCIDENT in actions:
        elements.append(button(labels.report_incident, REPORT_INCIDENT, value))
    if Action.ASK_PERSON in actions:
        elements.append(button(labels.ask_person, ASK_PERSON, value))
    if not elements:
        return None
    return {"type": "actions", "block_id": "answer_actions", "elements": elements}


def say_buttons(reply: Reply) -> Block | None:
    """The incident conversation's step buttons (Cancel; Send/Edit/Cancel; Continue/
    Discard) and starter questions; each click is answered like the words it carries."""
    labels = labels_for(reply.language)
    elements = [
        button(
            labels.step(action),
            f"{SAY}{action.value}",
            COMMANDS[action][1],
            style="primary" if action in (Action.SEND_REPORT, Action.CONTINUE_REPORT) else None,
        )
        for action in reply.actions
        if action in COMMANDS
    ]
    elements += [
        button(truncate(starter, 75), f"{SAY}starter_{i}", starter)
        for i, starter in enumerate(reply.starters)
    ]
    if not elements:
        return None
    return {"type": "actions", "block_id": "conversation_steps", "elements": elements}


def reply_blocks(reply: Reply, *, action_value: str = "") -> list[Block]:
    """The answer message: where a report stands, text with [n] markers, the AI label,
    sources, feedback, buttons.

    ``action_value`` is opaque text the adapter wants back when a button is clicked (see
    :func:`encode_action_value`).
    """
    labels = labels_for(reply.language)
    blocks: list[Block] = []
    if reply.progress:
        blocks.append(context(f":memo: *{escape(reply.progress)}*", block_id="progress"))
    blocks += [
        section(part, block_id=f"answer_{i}")
        for i, part in enumerate(_split_text(escape(reply.text)) or [" "])
    ]
    if reply.notices:
        blocks.append(context("\n".join(escape(notice) for notice in reply.notices)))
    if reply.ai_generated:
        blocks.append(context(f":sparkles: {labels.ai_generated}", block_id="ai_label"))
    if reply.citations:
        blocks.append(sources_block(reply.citations, labels))
    if Action.FEEDBACK in reply.actions:
        blocks.append(feedback_block(action_value, labels))
    buttons = action_buttons(reply.actions, action_value, labels)
    if buttons:
        blocks.append(buttons)
    steps = say_buttons(reply)
    if steps:
        blocks.append(steps)
    return blocks[:MAX_BLOCKS]


def reply_text(reply: Reply) -> str:
    """The message's top-level ``text``: what notifications and screen readers show."""
    text = reply.text
    if reply.status is Status.ANSWERED and reply.ai_generated:
        text += f" ({labels_for(reply.language).ai_generated_short})"
    return truncate(text, MAX_FALLBACK_TEXT)


def encode_action_value(*, answer_id: str | None, question: str = "") -> str:
    """What a button carries back: the stored answer's id, or (when the answer could not be
    stored) the question, cut to fit Slack's limit."""
    if answer_id:
        return json.dumps({"a": answer_id}, separators=(",", ":"))
    data = {"q": question}
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    while len(encoded) > MAX_BUTTON_VALUE - len(FEEDBACK_NEGATIVE) - 1:
        data["q"] = data["q"][: len(data["q"]) - (len(encoded) - MAX_BUTTON_VALUE) - 64]
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return encoded


def decode_action_value(value: str | None) -> dict[str, str]:
    """The inverse of :func:`encode_action_value`; unreadable values give an empty dict."""
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def split_feedback_value(value: str) -> tuple[bool, dict[str, str]]:
    """``(helpful, action_value)`` from a feedback button's value."""
    rating, _, rest = value.partition("|")
    return rating == FEEDBACK_POSITIVE, decode_action_value(rest)


def suggested_prompts() -> list[dict[str, str]]:
    return [{"title": title, "message": message} for title, message in SUGGESTED_PROMPTS]


def ingest_report_text(report: Mapping[str, Any]) -> str:
    """The core's ingest report lines as one message for the admin."""
    return truncate(escape("\n".join(ingest_report_lines(report))), MAX_SECTION_TEXT)
