"""Someone's words on a Teams ticket card never become a link for the support team."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.teams import payloads
from bot.handoff.cards import CardAction, CardField, TicketCard
from bot.handoff.ports import Reporter
from bot.handoff.tickets import TicketKind, TicketState

LURE = (
    "Please [Sign in again](https://evil.example/login) and see [x][1]\n\n[1]: https://evil.example"
)


def card_with(text: str) -> TicketCard:
    return TicketCard(
        reference="INC-2026-1",
        kind=TicketKind.INCIDENT,
        kind_title="AI incident",
        state=TicketState.RESOLVED,
        state_label="Resolved",
        severity="high",
        summary=text,
        body=text,
        fields=(CardField("tool", "Tool", text),),
        reporter=Reporter(platform="teams", user_id="u-1", display_name=text),
        assignee=text,
        created_at=datetime(2026, 11, 29, tzinfo=UTC),
        claim_by=None,
        overdue=False,
        resolution=text,
        actions=(CardAction.CLAIM,),
    )


def texts(payload: dict) -> list[str]:
    content = payload["content"]
    found = [block["text"] for block in content["body"] if block.get("type") == "TextBlock"]
    for block in content["body"]:
        found += [fact["value"] for fact in block.get("facts", [])]
    return found


def test_links_in_ticket_text_are_not_formed():
    card = payloads.ticket_card(card_with(LURE))

    shown = texts(card)
    assert any("Sign in again" in text for text in shown), "the words are still shown"
    for text in shown:
        assert "](" not in text and "][" not in text and "]:" not in text
    assert "](" not in json.dumps(card["content"], ensure_ascii=False)
