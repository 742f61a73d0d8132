"""Slack modals: the incident report and the resolution note. Pure functions, no I/O.

The incident modal is built from the core's :data:`bot.handoff.incident.INCIDENT_FORM`, the same
list the conversational flow asks through, so both collect the same fields. Required
fields are checked when the modal is submitted, inside Slack's 3-second acknowledgement,
and come back as ``response_action: errors`` under the field; Slack itself enforces each
input's ``max_length``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.handoff.incident import INCIDENT_FORM, IncidentField

INCIDENT_CALLBACK = "policybot_incident"
RESOLVE_CALLBACK = "policybot_resolve"
REPLY_CALLBACK = "policybot_reply"
REPLY_FIELD = "reply"
REASSIGN_CALLBACK = "policybot_reassign"
ASSIGNEE_FIELD = "assignee"
RESOLUTION_FIELD = "resolution"
# Slack's plain_text_input accepts at most 3000 characters.
MAX_INPUT_CHARS = 3000
REQUIRED_ERROR = "Please fill this in."

View = dict[str, Any]


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def text_input(
    name: str,
    label: str,
    *,
    required: bool,
    multiline: bool = False,
    max_chars: int = MAX_INPUT_CHARS,
    hint: str | None = None,
) -> dict[str, Any]:
    """An ``input`` block whose block_id and action_id are both ``name``."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": name,
        "optional": not required,
        "label": _text(label[:2000]),
        "element": {
            "type": "plain_text_input",
            "action_id": name,
            "multiline": multiline,
            "max_length": min(max_chars, MAX_INPUT_CHARS),
        },
    }
    if hint:
        block["hint"] = _text(hint[:2000])
    return block


def incident_modal(
    metadata: Mapping[str, str],
    *,
    max_chars: int = MAX_INPUT_CHARS,
    fields: Sequence[IncidentField] = INCIDENT_FORM,
) -> View:
    """The "Report an AI incident" modal; ``metadata`` comes back on submission."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "The AI Support Team gets this at once. Describe the data; please "
                "don't paste it. Meanwhile, don't enter it anywhere again.",
            },
        }
    ]
    blocks += [
        text_input(
            f.name,
            f.label,
            required=f.required,
            multiline=f.multiline,
            max_chars=max_chars,
            hint=f.question,
        )
        for f in fields
    ]
    return {
        "type": "modal",
        "callback_id": INCIDENT_CALLBACK,
        "title": _text("Report an AI incident"),
        "submit": _text("Send report"),
        "close": _text("Cancel"),
        "private_metadata": encode_metadata(metadata),
        "blocks": blocks,
    }


def resolve_modal(reference: str, metadata: Mapping[str, str]) -> View:
    """Asks support staff for the resolution note the reporter will receive."""
    return {
        "type": "modal",
        "callback_id": RESOLVE_CALLBACK,
        "title": _text(f"Resolve {reference}"[:24]),
        "submit": _text("Resolve"),
        "close": _text("Cancel"),
        "private_metadata": encode_metadata({**metadata, "reference": reference}),
        "blocks": [
            text_input(
                RESOLUTION_FIELD,
                "Resolution note (sent to the reporter)",
                required=True,
                multiline=True,
            )
        ],
    }


def reply_modal(reference: str, metadata: Mapping[str, str]) -> View:
    """Asks support staff for the reply the reporter will receive on their platform."""
    return {
        "type": "modal",
        "callback_id": REPLY_CALLBACK,
        "title": _text(f"Reply on {reference}"[:24]),
        "submit": _text("Send reply"),
        "close": _text("Cancel"),
        "private_metadata": encode_metadata({**metadata, "reference": reference}),
        "blocks": [text_input(REPLY_FIELD, "Reply to the reporter", required=True, multiline=True)],
    }


def submitted_values(view: Mapping[str, Any]) -> dict[str, str]:
    """``{block_id: text}`` from a submitted view's ``state.values`` (empty inputs give "")."""
    values: dict[str, str] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for action in actions.values():
            values[block_id] = str(action.get("value") or "")
    return values


def missing_fields(values: Mapping[str, str], required: Sequence[str]) -> dict[str, str]:
    """``response_action: errors`` content for the required fields left blank."""
    return {name: REQUIRED_ERROR for name in required if not values.get(name, "").strip()}


def incident_required() -> list[str]:
    return [f.name for f in INCIDENT_FORM if f.required]


def encode_metadata(metadata: Mapping[str, str]) -> str:
    # private_metadata holds at most 3000 characters; ours are a few ids.
    return json.dumps(dict(metadata), separators=(",", ":"))[:3000]


def decode_metadata(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def reassign_modal(reference: str, metadata: Mapping[str, str]) -> View:
    """Asks support staff whom to hand the ticket to (their name as tickets show it)."""
    return {
        "type": "modal",
        "callback_id": REASSIGN_CALLBACK,
        "title": _text(f"Reassign {reference}"[:24]),
        "submit": _text("Reassign"),
        "close": _text("Cancel"),
        "private_metadata": encode_metadata({**metadata, "reference": reference}),
        "blocks": [
            text_input(
                ASSIGNEE_FIELD,
                "Assign to",
                required=True,
                max_chars=200,
                hint="Their name as tickets show it, e.g. their Slack handle.",
            )
        ],
    }
