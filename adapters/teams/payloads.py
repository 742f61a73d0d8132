"""Teams wire payloads as plain dicts: the one file a move to the Agents SDK has to touch.

Everything here is a pure function of core data (``Reply``, ``Citation``) or of parts of an
incoming activity, returning JSON-ready dicts in the Bot Framework Activity schema. Nothing
imports ``botbuilder``: the Microsoft 365 Agents SDK speaks the same Activity protocol, so
these payloads carry over unchanged.

Limits come from Teams' documentation for AI bot messages ("Enhance AI-generated bot
messages"): a citation's name at most 80 characters, its abstract at most 160, at most 20
citations per message.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from bot import limits
from bot.handoff.announcements import Announcement
from bot.handoff.cards import CardAction, TicketCard
from bot.labels import ENGLISH, Labels, labels_for
from bot.models import COMMANDS, Action, Citation, Reply
from bot.replies import ingest_report_lines

MAX_CITATIONS = 20
MAX_CITATION_NAME = 80
MAX_CITATION_ABSTRACT = 160
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
# Key of the Action.Submit data that names what a button does; Teams merges the card's
# inputs into the same ``value`` object, so the key must not collide with an input id.
SUBMIT_KEY = "policybot"

Payload = dict[str, Any]
_MARKER = re.compile(r"\[(\d{1,2})\]")


def truncate(text: str, limit: int) -> str:
    """Card facts, claims and buttons are single lines: white space folded, then cut."""
    return limits.truncate(text, limit, one_line=True)


def citation_claim(citation: Citation, position: int) -> Payload:
    """One ``Claim`` of the AI entity: the document and section, an abstract, a link if any."""
    # Section first: a long document title would otherwise push it past the 80 characters.
    name = f"{citation.section} · {citation.document}" if citation.section else citation.document
    appearance: Payload = {
        "@type": "DigitalDocument",
        "name": truncate(name, MAX_CITATION_NAME),
        "abstract": truncate(citation.text, MAX_CITATION_ABSTRACT),
    }
    if citation.source.startswith(("https://", "http://")):
        appearance["url"] = citation.source
    return {"@type": "Claim", "position": position, "appearance": appearance}


def cited_positions(text: str) -> set[int]:
    return {int(n) for n in _MARKER.findall(text)}


def ai_message_entity(citations: Sequence[Citation], text: str | None = None) -> Payload:
    """The root message entity: Teams shows "AI generated" and the numbered citations.

    With ``text``, only the citations its ``[n]`` markers point to are listed (Teams lists
    every citation under the message, referenced or not); text without markers keeps all.
    """
    entity: Payload = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    cited = cited_positions(text or "")
    claims = [
        citation_claim(c, c.n)
        for c in citations
        if 1 <= c.n <= MAX_CITATIONS and (not cited or c.n in cited)
    ]
    if claims:
        entity["citation"] = claims
    return entity


def answer_activity(reply: Reply, *, question: str | None = None) -> Payload:
    """The message activity for a core reply.

    AI-generated replies carry the AI entity with citations; ``Action.FEEDBACK`` turns on
    Teams' own thumbs up/down (``channelData.feedbackLoopEnabled``), answered by the
    ``message/submitAction`` invoke. The other actions become Adaptive Card buttons.
    """
    activity: Payload = {"type": "message", "text": reply.text, "textFormat": "markdown"}
    if reply.notices:
        activity["text"] = "\n\n".join([reply.text, *reply.notices])
    if reply.ai_generated or reply.citations:
        entity = ai_message_entity(reply.citations, reply.text)
        if not reply.ai_generated:  # cited template text (e.g. an incident receipt)
            del entity["additionalType"]
        activity["entities"] = [entity]
    if Action.FEEDBACK in reply.actions:
        activity["channelData"] = {"feedbackLoopEnabled": True}
    card = actions_card(
        reply.actions,
        question=question,
        answer_id=reply.answer_id,
        progress=reply.progress,
        starters=reply.starters,
        labels=labels_for(reply.language),
    )
    if card is not None:
        activity["attachments"] = [card]
    return activity


def actions_card(
    actions: Iterable[Action],
    *,
    question: str | None = None,
    answer_id: str | None = None,
    progress: str | None = None,
    starters: Sequence[str] = (),
    labels: Labels = ENGLISH,
) -> Payload | None:
    """Buttons for "Report an AI incident" and "Ask a person" (labelled in the question's
    language; Teams draws its own feedback thumbs), the incident conversation's
    state and step buttons, and starter questions; None if nothing applies.

    "Ask a person" carries the stored answer's id (the support team sees the bot's attempt)
    and the question (enough on its own when the answer was not stored). Step buttons and
    starters are ``messageBack`` actions: Teams sends their words as the person's message.
    """
    buttons = []
    actions = tuple(actions)
    body: list[Payload] = []
    if progress:
        body.append({"type": "TextBlock", "text": progress, "weight": "Bolder", "wrap": True})
    if Action.REPORT_INCIDENT in actions:
        buttons.append(submit_action(labels.report_incident, Action.REPORT_INCIDENT.value))
    if Action.ASK_PERSON in actions:
        data = {"question": question, "answer_id": answer_id}
        data = {k: v for k, v in data.items() if v}
        buttons.append(submit_action(labels.ask_person, Action.ASK_PERSON.value, **data))
    buttons += [say_action(labels.step(a), COMMANDS[a][1]) for a in actions if a in COMMANDS]
    buttons += [say_action(truncate(starter, 60), starter) for starter in starters]
    if not (buttons or body):
        return None
    return adaptive_card(body, actions=buttons)


def say_action(title: str, words: str) -> Payload:
    """A button that sends ``words`` as the person's own message (Teams' ``messageBack``)."""
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "messageBack", "text": words, "displayText": words}},
    }


def submit_action(title: str, name: str, **data: Any) -> Payload:
    return {"type": "Action.Submit", "title": title, "data": {SUBMIT_KEY: name, **data}}


def adaptive_card(body: list[Payload], *, actions: list[Payload] | None = None) -> Payload:
    """An Adaptive Card attachment (schema 1.5, the highest Teams renders everywhere)."""
    content: Payload = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return {"contentType": ADAPTIVE_CARD, "content": content}


def typing_activity() -> Payload:
    return {"type": "typing"}


def text_activity(text: str) -> Payload:
    return {"type": "message", "text": text, "textFormat": "markdown"}


def card_activity(card: Payload, *, text: str | None = None) -> Payload:
    activity: Payload = {"type": "message", "attachments": [card]}
    if text:
        activity["text"] = text
    return activity


# Mention texts are looked for in the message at most this many times: each is a scan.
MAX_MENTIONS = 10


def strip_at_tags(text: str) -> str:
    """``text`` with every ``<at ...>`` and ``</at>`` tag removed, the names kept.

    A scan in one pass: a regular expression pairing the tags (``<at[^>]*>(.*?)</at>``)
    rescans the rest of the text from every unclosed ``<at``, quadratic on a body made of
    them (32 KB took a second, a megabyte minutes).
    """
    lower = text.lower()
    parts: list[str] = []
    position = 0
    while True:
        start = lower.find("<", position)
        if start < 0:
            break
        if lower.startswith("</at>", start):
            parts.append(text[position:start])
            position = start + len("</at>")
            continue
        follower = lower[start + 3 : start + 4]
        if lower.startswith("<at", start) and follower and (follower == ">" or follower.isspace()):
            end = lower.find(">", start)
            if end < 0:
                break
            parts.append(text[position:start])
            position = end + 1
            continue
        parts.append(text[position : start + 1])
        position = start + 1
    parts.append(text[position:])
    return "".join(parts)


def question_text(text: str | None, bot_mentions: Iterable[str] = ()) -> str:
    """The question in a message: the bot's own ``<at>`` mentions removed, others kept as names.

    Teams puts ``<at>Bot name</at>`` in the text of a channel or group-chat message that
    mentions the bot; ``bot_mentions`` are the mention texts whose ``mentioned.id`` is the
    bot (from the activity's mention entities). Linear in the text's length.
    """
    text = text or ""
    for mention in list(dict.fromkeys(m for m in bot_mentions if m))[:MAX_MENTIONS]:
        text = text.replace(mention, " ")
    return " ".join(html.unescape(strip_at_tags(text)).split())


@dataclass(frozen=True)
class Feedback:
    """What Teams sends when someone presses thumbs up or down on an answer."""

    helpful: bool
    comment: str
    answer_activity_id: str | None


def feedback_from_invoke(value: Mapping[str, Any] | None, reply_to_id: str | None) -> Feedback:
    """Read a ``message/submitAction`` feedback value.

    Teams' default form sends ``actionValue.feedback`` as a JSON string
    ``{"feedbackText": "..."}``; a custom form may send an object or plain text.

    Raises:
        ValueError: the invoke is not feedback, or the reaction is neither like nor dislike.
    """
    value = value or {}
    if value.get("actionName") != "feedback":
        raise ValueError(f"not a feedback action: {value.get('actionName')!r}")
    action = value.get("actionValue") or {}
    reaction = action.get("reaction")
    if reaction not in ("like", "dislike"):
        raise ValueError(f"unknown feedback reaction: {reaction!r}")
    raw = action.get("feedback") or ""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = {"feedbackText": raw}
    comment = raw.get("feedbackText", "") if isinstance(raw, Mapping) else str(raw)
    return Feedback(
        helpful=reaction == "like", comment=str(comment).strip(), answer_activity_id=reply_to_id
    )


@dataclass(frozen=True)
class CardSubmit:
    """An Action.Submit from one of our cards: what was pressed, and the card's inputs."""

    name: str
    data: dict[str, Any]
    card_activity_id: str | None


def card_submit(value: Mapping[str, Any] | None, reply_to_id: str | None) -> CardSubmit | None:
    """Read the ``value`` of a message activity sent by Action.Submit; None if not ours."""
    if not isinstance(value, Mapping) or not isinstance(value.get(SUBMIT_KEY), str):
        return None
    data = {k: v for k, v in value.items() if k != SUBMIT_KEY}
    return CardSubmit(name=value[SUBMIT_KEY], data=data, card_activity_id=reply_to_id)


@dataclass(frozen=True)
class FormField:
    """One input of a form card; ``choices`` makes it a choice set."""

    id: str
    label: str
    required: bool = False
    multiline: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    placeholder: str | None = None
    max_length: int | None = None


def form_card(
    title: str,
    fields: Sequence[FormField],
    *,
    submit: str,
    submit_title: str = "Submit",
    intro: str | None = None,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    extra_data: Mapping[str, Any] | None = None,
) -> Payload:
    """A form as an Adaptive Card; server-side ``errors`` appear under their inputs.

    Required inputs are also checked by the Teams client (``isRequired``); the server
    checks again, since other clients and retries may not.
    """
    values = values or {}
    errors = errors or {}
    body: list[Payload] = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium"}
    ]
    if intro:
        body.append({"type": "TextBlock", "text": intro, "wrap": True})
    if errors.get(""):
        body.append(_error_block(errors[""]))
    for f in fields:
        element: Payload = {"id": f.id, "label": f.label, "isRequired": f.required}
        if f.required:
            element["errorMessage"] = f"{f.label} is required"
        if f.choices:
            element.update(
                type="Input.ChoiceSet",
                style="compact",
                choices=[{"title": t, "value": v} for v, t in f.choices],
            )
        else:
            element.update(type="Input.Text", isMultiline=f.multiline)
            if f.placeholder:
                element["placeholder"] = f.placeholder
            if f.max_length:
                element["maxLength"] = f.max_length
        if values.get(f.id):
            element["value"] = values[f.id]
        body.append(element)
        if errors.get(f.id):
            body.append(_error_block(field_error(errors[f.id])))
    action = submit_action(submit_title, submit, **dict(extra_data or {}))
    return adaptive_card(body, actions=[action])


def field_error(reason: str) -> str:
    """A core reason ("is empty; please fill it in") as a sentence under its input."""
    reason = reason.strip()
    if reason.startswith(("is ", "must ", "has ")):
        return f"This answer {reason}."
    return reason[:1].upper() + reason[1:]


def _error_block(message: str) -> Payload:
    return {
        "type": "TextBlock",
        "text": message,
        "color": "Attention",
        "wrap": True,
        "spacing": "None",
    }


MAX_FACT_CHARS = 300
# A closing bracket followed by "(", "[" or ":" starts a markdown link (inline, reference or
# definition). Adaptive Cards ignore backslash escapes on some clients, so an invisible
# zero-width space goes between: the text reads the same and no link is formed.
_LINK_START = re.compile(r"\](?=\s*[(\[:])")
ZERO_WIDTH_SPACE = "\u200b"


def plain_text(text: str) -> str:
    """Someone's words for a markdown TextBlock or fact, never turned into a link."""
    return _LINK_START.sub("]" + ZERO_WIDTH_SPACE, text)


def announcement_card(announcement: Announcement) -> Payload:
    """A policy-change summary: a heading, then one line per section (names kept as text,
    never links) with an Open link where the policies are published."""
    body: list[Payload] = [
        {"type": "TextBlock", "text": plain_text(announcement.heading), "weight": "Bolder",
         "size": "Medium", "wrap": True},
    ]  # fmt: skip
    for item in announcement.sections:
        line = f"{item.change.capitalize()}: {plain_text(item.document)}"
        if item.section and item.section != item.document:
            line += f" › {plain_text(item.section)}"
        details = [f"version {plain_text(item.new_version)}"] if item.new_version else []
        if item.effective:
            details.append(f"effective {plain_text(item.effective)}")
        if details:
            line += f" ({', '.join(details)})"
        if item.link and item.link.startswith(("https://", "http://")):
            line += f" [read]({item.link.replace(')', '%29').replace(' ', '%20')})"
        body.append({"type": "TextBlock", "text": "- " + line, "wrap": True, "spacing": "Small"})
    if announcement.unlisted:
        body.append(
            {"type": "TextBlock", "text": f"…and {announcement.unlisted} more", "wrap": True}
        )
    return adaptive_card(body)


def ticket_card(card: TicketCard, *, zone: tzinfo | None = None) -> Payload:
    """A ticket card for the support channel, with the buttons the ticket's state allows
    (the core's card decides which); times in ``zone``, the organisation's (UTC if none)."""
    status = card.state_label
    if card.claim_by is not None:
        local = card.claim_by.astimezone(zone) if zone is not None else card.claim_by
        due = f"{local:%d %b %H:%M} {local.tzname() or 'UTC'}"
        status += f" · {'OVERDUE since' if card.overdue else 'claim by'} {due}"
    status += f" · {plain_text(card.assignee)}" if card.assignee else ""
    facts = [("Severity", card.severity), ("Reported by", plain_text(card.reporter_name))]
    facts += [(f.label, plain_text(truncate(f.value, MAX_FACT_CHARS))) for f in card.fields]
    body: list[Payload] = [
        {
            "type": "TextBlock",
            "text": f"{card.kind_title}: {card.reference}",
            "weight": "Bolder",
            "size": "Medium",
        },
        {"type": "TextBlock", "text": status, "isSubtle": True, "spacing": "None"},
        {"type": "TextBlock", "text": plain_text(card.summary), "wrap": True},
        {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
    ]
    if card.stale_answer:
        body.append(
            {
                "type": "TextBlock",
                "text": f"⚠ The answer went stale: {plain_text(card.stale_answer)}",
                "color": "Warning",
                "wrap": True,
            }
        )
    if card.resolution:
        body.append(
            {
                "type": "TextBlock",
                "text": f"Resolution: {plain_text(card.resolution)}",
                "wrap": True,
                "isSubtle": True,
            }
        )
    actions = []
    if card.allows(CardAction.CLAIM):
        actions.append(submit_action("Claim", "claim", ticket=card.reference))
    if card.allows(CardAction.REPLY):
        body.append(
            {
                "type": "Input.Text",
                "id": "reply_text",
                "label": "Reply to the reporter",
                "isMultiline": True,
                "maxLength": 4000,
            }
        )
        actions.append(submit_action("Send reply", "reply", ticket=card.reference))
    if card.allows(CardAction.REASSIGN):
        body.append(
            {
                "type": "Input.Text",
                "id": "assignee",
                "label": "Reassign to (their name as tickets show it)",
                "maxLength": 200,
            }
        )
        actions.append(submit_action("Reassign", "reassign", ticket=card.reference))
    if card.allows(CardAction.UNASSIGN):
        actions.append(submit_action("Unassign", "unassign", ticket=card.reference))
    if card.allows(CardAction.RESOLVE):
        body.append(
            {
                "type": "Input.Text",
                "id": "resolution",
                "label": "Resolution note",
                "isMultiline": True,
                "maxLength": 4000,
            }
        )
        actions.append(submit_action("Resolve", "resolve", ticket=card.reference))
    return adaptive_card(body, actions=actions)


def ingest_report_text(report: Mapping[str, Any]) -> str:
    """The core's ingest report lines as a chat message (a paragraph each)."""
    return "\n\n".join(ingest_report_lines(report))


INCIDENT_SUBMIT = "incident_submit"


def incident_card(
    fields: Sequence[FormField],
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Payload:
    """The "Report an AI incident" form; shown again with ``errors`` until it is valid."""
    return form_card(
        "Report an AI incident",
        fields,
        submit=INCIDENT_SUBMIT,
        submit_title="Send to the support team",
        intro=(
            "The support team needs these to respond. Describe the data involved; "
            "please don't paste the data itself."
        ),
        values=values,
        errors=errors,
    )


def form_values(data: Mapping[str, Any], fields: Sequence[FormField]) -> dict[str, str]:
    """The inputs of a submitted form, as text (Teams omits inputs left empty)."""
    return {f.id: str(data.get(f.id) or "").strip() for f in fields}


def submitted_card(title: str, lines: Sequence[str]) -> Payload:
    """What a form turns into once sent: a read-only receipt, so it cannot be sent twice."""
    body: list[Payload] = [{"type": "TextBlock", "text": title, "weight": "Bolder"}]
    body.extend({"type": "TextBlock", "text": line, "wrap": True} for line in lines)
    return adaptive_card(body)
