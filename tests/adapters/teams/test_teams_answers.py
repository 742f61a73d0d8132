"""Questions in Teams get cited, AI-labelled answers, once, through the real CloudAdapter."""

from __future__ import annotations

import asyncio
import re

from adapters import teams
from adapters.cli.serve import enabled_adapters
from adapters.teams import payloads
from adapters.teams.settings import TeamsSettings
from tests.adapters.teams.conftest import TeamsHarness, activity, start_harness


async def test_personal_question_gets_typing_then_a_cited_ai_answer(harness: TeamsHarness):
    question = activity("personal_message")
    harness.runtime.bot.typing_delay = 0  # answers here are quicker than the default delay

    status, body = await harness.post(question)

    assert status == 201
    calls = harness.connector.calls
    assert [c.type for c in calls] == ["typing", "message"]
    answer = calls[-1]
    # A reply in the same conversation, to the question's activity.
    assert answer.conversation_id == question["conversation"]["id"]
    assert answer.activity_id == question["id"]
    assert answer.body["channelData"] == {"feedbackLoopEnabled": True}
    [entity] = answer.body["entities"]
    claims = entity.pop("citation")
    assert entity == {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers and markers == {c["position"] for c in claims}
    assert 1 <= len(claims) <= payloads.MAX_CITATIONS
    for claim in claims:
        assert claim["@type"] == "Claim"
        appearance = claim["appearance"]
        assert appearance["@type"] == "DigitalDocument"
        assert 0 < len(appearance["name"]) <= 80
        assert 0 < len(appearance["abstract"]) <= 160
    # The bundled example policy declares its URL in its front matter.
    assert any(c["appearance"].get("url") == "https://example.com/policies/genai" for c in claims)
    [card] = answer.cards
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Report an AI incident", "Ask a person"]


async def test_a_question_in_chinese_gets_its_card_buttons_in_chinese(harness: TeamsHarness):
    harness.runtime.bot.typing_delay = 0
    status, _ = await harness.post(
        activity("personal_message", text="公司核准使用的人工智能工具有哪些？")
    )
    assert status == 201
    answer = harness.connector.calls[-1]
    # Teams draws its own feedback thumbs; the card's buttons are ours and say it in Chinese.
    assert answer.body["channelData"] == {"feedbackLoopEnabled": True}
    [card] = answer.cards
    assert [a["title"] for a in card["actions"]] == ["報告人工智能事故", "轉交支援人員"]
    assert [a["data"][payloads.SUBMIT_KEY] for a in card["actions"]] == [
        "report_incident",
        "ask_person",
    ]

    status, _ = await harness.post(activity("personal_message", text="今晚睇咩戲好？"))
    assert status == 201
    refused = harness.connector.calls[-1]
    assert refused.text.startswith("我在公司的生成式人工智能政策")
    [card] = refused.cards
    assert [a["title"] for a in card["actions"]] == ["轉交支援人員"]


async def test_channel_mention_is_stripped_before_the_question_is_read(harness: TeamsHarness):
    question = activity("channel_mention")

    status, _ = await harness.post(question)

    assert status == 201
    # No typing: Teams shows none in channels.
    [answer] = harness.connector.calls
    assert answer.type == "message"
    assert answer.conversation_id == question["conversation"]["id"]
    assert answer.body.get("entities"), "answered as a question, not with the help text"
    [card] = answer.cards
    ask_person = next(a for a in card["actions"] if a["title"] == "Ask a person")
    assert ask_person["data"]["question"] == (
        "Are we allowed to put client names into a public chatbot like ChatGPT?"
    )


async def test_a_quick_answer_needs_no_typing_indicator(harness: TeamsHarness):
    await harness.post(activity("personal_message"))

    assert [c.type for c in harness.connector.calls] == ["message"]


async def test_a_bare_mention_gets_help_not_an_answer(harness: TeamsHarness):
    status, _ = await harness.post(activity("channel_mention", text="<at>PolicyBot</at> "))

    assert status == 201
    [reply] = harness.connector.sent("message")
    assert "Ask me about" in reply.text
    assert "entities" not in reply.body


async def test_out_of_scope_question_is_not_labelled_ai_and_offers_a_person(harness: TeamsHarness):
    await harness.post(activity("personal_message", text="What is the capital of Mongolia?"))

    [reply] = harness.connector.sent("message")
    assert "entities" not in reply.body
    assert "channelData" not in reply.body
    [card] = reply.cards
    assert [a["title"] for a in card["actions"]] == ["Ask a person"]


async def test_a_resent_activity_is_answered_once(harness: TeamsHarness):
    question = activity("personal_message")

    results = await asyncio.gather(*(harness.post(question) for _ in range(3)))
    later = await harness.post(question)

    assert [status for status, _ in [*results, later]] == [201] * 4
    assert len(harness.connector.sent("message")) == 1


async def test_same_activity_id_in_another_conversation_is_a_new_question(harness: TeamsHarness):
    first = activity("personal_message")
    other = {**first, "conversation": {**first["conversation"], "id": "a:another-chat"}}

    await harness.post(first)
    await harness.post(other)

    assert len(harness.connector.sent("message")) == 2


async def test_connector_throttling_and_errors_are_retried(harness: TeamsHarness):
    harness.connector.fail_next(429, headers={"Retry-After": "0"})
    harness.connector.fail_next(503, times=2)

    status, _ = await harness.post(activity("personal_message"))

    assert status == 201
    assert harness.connector.failures == []
    assert len(harness.connector.sent("message")) == 1


async def test_with_an_app_id_a_request_without_a_token_is_refused(engine, connector, tmp_path):
    settings = TeamsSettings(
        _env_file=None, app_id="0c5e2f1a-9b8d-4e7f-a6c5-3d2b1a0f9e8d", app_password="secret"
    )
    secured = await start_harness(engine, connector, settings, tmp_path)
    try:
        status, _ = await secured.post(activity("personal_message"))
        invoke_status, _ = await secured.post(activity("feedback_invoke"))
    finally:
        await secured.close()

    assert (status, invoke_status) == (401, 401)
    assert connector.calls == []


async def test_a_body_that_is_not_an_activity_is_rejected(harness: TeamsHarness):
    response = await harness.client.post(
        "/api/messages", data="hello", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    response = await harness.client.post("/api/messages", json={"text": "no type"})
    assert response.status == 400


def test_serve_enables_teams_in_emulator_mode_on_loopback(engine, monkeypatch):
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    adapters = enabled_adapters(engine.settings, host="127.0.0.1")
    assert teams.setup in [getattr(a, "func", a) for a in adapters]


async def test_a_failing_turn_is_reported_to_the_person(harness: TeamsHarness):
    class BrokenAssistant:
        async def handle(self, message):
            raise RuntimeError("index unavailable")

    harness.runtime.bot.assistant = BrokenAssistant()

    status, _ = await harness.post(activity("personal_message"))

    assert status == 201
    [reply] = harness.connector.sent()
    assert reply.text.startswith("Sorry, something went wrong")
    assert "index unavailable" not in reply.text
