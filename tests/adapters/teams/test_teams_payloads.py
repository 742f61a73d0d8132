"""The pure payload functions: Teams' limits and the shapes Teams sends us."""

from __future__ import annotations

import json

import pytest

from adapters.teams import payloads
from adapters.teams.connector import to_activity
from bot.models import Action, Citation, Reply, Status


def citation(
    n: int, *, document: str = "GenAI policy", section: str = "4. Input", text: str = "x"
) -> Citation:
    return Citation(
        n=n,
        document=document,
        section=section,
        version="2.0",
        source="policy.md",
        text=text,
        score=0.9,
    )


def test_citations_keep_within_teams_limits():
    long = citation(1, document="D" * 200, section="S" * 200, text="word " * 100)
    many = [long, *(citation(n) for n in range(2, 30))]
    reply = Reply(
        text="See " + " ".join(f"[{n}]" for n in range(1, 30)),
        citations=tuple(many),
        ai_generated=True,
        status=Status.ANSWERED,
    )

    [entity] = payloads.answer_activity(reply)["entities"]

    claims = entity["citation"]
    assert [c["position"] for c in claims] == list(range(1, 21))
    first = claims[0]["appearance"]
    assert len(first["name"]) == 80 and first["name"].endswith("…")
    assert len(first["abstract"]) <= 160 and first["abstract"].endswith("…")
    assert "url" not in first, "a relative source path is not a link"


def test_only_the_citations_the_text_points_to_are_listed():
    reply = Reply(text="Yes [2].", citations=(citation(1), citation(2)), ai_generated=True)

    [entity] = payloads.answer_activity(reply)["entities"]

    assert [c["position"] for c in entity["citation"]] == [2]


def test_citation_name_leads_with_the_section_and_links_urls():
    claim = payloads.citation_claim(
        Citation(
            n=1,
            document="Guide to the PCPD Checklist",
            section="4. Input of information › 4.3 Personal data",
            version=None,
            source="https://www.pcpd.org.hk/english/",
            text="Do not input personal data.",
            score=0.8,
        ),
        1,
    )
    assert claim["appearance"] == {
        "@type": "DigitalDocument",
        "name": "4. Input of information › 4.3 Personal data · Guide to the PCPD Checklist",
        "abstract": "Do not input personal data.",
        "url": "https://www.pcpd.org.hk/english/",
    }


def test_feedback_action_without_feedback_turns_on_no_thumbs():
    reply = Reply(text="Sorry.", actions=(Action.ASK_PERSON,))
    activity = payloads.answer_activity(reply, question="q?")
    assert "channelData" not in activity and "entities" not in activity
    assert activity["attachments"][0]["content"]["actions"][0]["data"] == {
        "policybot": "ask_person",
        "question": "q?",
    }


@pytest.mark.parametrize(
    ("text", "mentions", "expected"),
    [
        ("<at>PolicyBot</at> Can I use Copilot?", ["<at>PolicyBot</at>"], "Can I use Copilot?"),
        (
            "Hi <at>PolicyBot</at>, can <at>Ann Lee</at> use it?",
            ["<at>PolicyBot</at>"],
            "Hi , can Ann Lee use it?",
        ),
        ("<at>PolicyBot</at>\n&nbsp;rules for&amp;AI?\n", ["<at>PolicyBot</at>"], "rules for&AI?"),
        ("plain question", [], "plain question"),
        (None, [], ""),
    ],
)
def test_question_text_strips_the_bot_mention(text, mentions, expected):
    assert payloads.question_text(text, mentions) == expected


@pytest.mark.parametrize(
    ("feedback", "comment"),
    [
        (json.dumps({"feedbackText": "Wrong section"}), "Wrong section"),
        ({"feedbackText": "As an object"}, "As an object"),
        ("free text from a custom form", "free text from a custom form"),
        ("", ""),
    ],
)
def test_feedback_invoke_values(feedback, comment):
    value = {"actionName": "feedback", "actionValue": {"reaction": "dislike", "feedback": feedback}}
    parsed = payloads.feedback_from_invoke(value, "1736929813000")
    assert parsed == payloads.Feedback(
        helpful=False, comment=comment, answer_activity_id="1736929813000"
    )


@pytest.mark.parametrize(
    "value",
    [None, {"actionName": "other"}, {"actionName": "feedback", "actionValue": {"reaction": "meh"}}],
)
def test_feedback_invoke_that_is_not_feedback_is_refused(value):
    with pytest.raises(ValueError):
        payloads.feedback_from_invoke(value, None)


def test_card_submit_reads_only_our_actions():
    assert payloads.card_submit(
        {"policybot": "claim", "ticket": "INC-1"}, "9"
    ) == payloads.CardSubmit(name="claim", data={"ticket": "INC-1"}, card_activity_id="9")
    assert payloads.card_submit({"something": "else"}, "9") is None
    assert payloads.card_submit(None, None) is None


def test_form_card_shows_values_and_errors_under_their_inputs():
    fields = [payloads.FormField("what", "What happened", required=True, multiline=True)]
    card = payloads.form_card(
        "Report", fields, submit="incident", values={"what": "pasted"}, errors={"what": "Too short"}
    )["content"]
    inputs = [e for e in card["body"] if e["type"].startswith("Input.")]
    assert inputs[0]["value"] == "pasted" and inputs[0]["isRequired"] is True
    error = card["body"][card["body"].index(inputs[0]) + 1]
    assert error == {
        "type": "TextBlock",
        "text": "Too short",
        "color": "Attention",
        "wrap": True,
        "spacing": "None",
    }


def test_entities_survive_botbuilder_serialization():
    reply = Reply(text="Yes [1].", citations=(citation(1),), ai_generated=True)
    payload = payloads.answer_activity(reply)

    assert to_activity(payload).serialize()["entities"] == payload["entities"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<at>Ann</at> and <AT id='2'>Bo</AT>", "Ann and Bo"),
        ("a < b and <atlas> stays", "a < b and <atlas> stays"),
        ("<at>unclosed name", "unclosed name"),
        ("<at never closed", "<at never closed"),
        ("</at>stray", "stray"),
    ],
)
def test_at_tags_are_removed_and_other_markup_kept(text, expected):
    assert payloads.question_text(text) == expected


def test_a_megabyte_of_unclosed_at_tags_is_parsed_in_one_pass():
    """The old pattern rescanned the rest of the text from every ``<at``: minutes on this."""
    soup = "<at>A " * (1024 * 1024 // 6)
    assert payloads.question_text(soup) == " ".join(["A"] * (1024 * 1024 // 6))
    tags_only = "<at " * (1024 * 1024 // 4)
    assert payloads.question_text(tags_only) == tags_only.strip()
