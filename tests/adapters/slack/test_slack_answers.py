"""Questions asked in Slack get cited, AI-labelled answers in the right thread, once."""

from __future__ import annotations

import json
import logging
import time

import pytest

from adapters.slack import render
from bot.store.schema import AnswerRow
from tests.adapters.slack.conftest import (
    SIGNING_SECRET,
    SlackHarness,
    event_payload,
    fixture,
)
from tests.adapters.slack.fake_slack_api import BOT_USER_ID


def block_types(blocks: list[dict]) -> list[str]:
    return [block["type"] for block in blocks]


def block(blocks: list[dict], block_id: str) -> dict:
    return next(b for b in blocks if b.get("block_id") == block_id)


def stored_question(harness: SlackHarness, answer_id: str) -> str:
    with harness.context.assistant.store.transaction() as session:
        return session.get(AnswerRow, answer_id).question


async def test_dm_question_gets_a_threaded_answer_with_citations_and_feedback(
    harness: SlackHarness,
) -> None:
    payload = event_payload("dm_message")

    acked = await harness.event(payload)

    assert acked.status == 200
    [call] = await harness.api.wait_for("chat.postMessage")
    args = call.args
    assert args["channel"] == "D0MEICHAN1"
    assert args["thread_ts"] == payload["event"]["ts"]
    blocks = args["blocks"]
    assert block_types(blocks)[-4:] == ["context", "section", "context_actions", "actions"]
    assert "[1]" in blocks[0]["text"]["text"]
    assert "AI-generated" in block(blocks, "ai_label")["elements"][0]["text"]
    sources = block(blocks, "sources")["text"]["text"].splitlines()
    assert sources[0] == "*Sources*"
    assert sources[1].startswith("*[1]* Harbourview Trading Limited")
    assert "version 2.1" in sources[1] and "<https://example.com/policies/genai|link>" in sources[1]
    feedback = block(blocks, "feedback")["elements"][0]
    assert feedback["type"] == "feedback_buttons"
    assert feedback["action_id"] == render.FEEDBACK
    buttons = [e["text"]["text"] for e in block(blocks, "answer_actions")["elements"]]
    assert buttons == ["Report an AI incident", "Ask a person"]
    assert "AI-generated" in args["text"]


async def test_mention_in_a_channel_is_answered_in_its_thread_without_the_mention(
    harness: SlackHarness,
) -> None:
    payload = event_payload("app_mention")

    assert (await harness.event(payload)).status == 200

    [call] = await harness.api.wait_for("chat.postMessage")
    assert call.args["channel"] == "C0FINANCE1"
    assert call.args["thread_ts"] == payload["event"]["ts"]
    value = render.decode_action_value(
        block(call.args["blocks"], "answer_actions")["elements"][0]["value"]
    )
    assert stored_question(harness, value["a"]) == "may I use Copilot to summarise a board paper?"


async def test_mention_inside_a_thread_answers_in_that_thread(harness: SlackHarness) -> None:
    payload = event_payload("app_mention", thread_ts="1736930000.000100")

    await harness.event(payload)

    [call] = await harness.api.wait_for("chat.postMessage")
    assert call.args["thread_ts"] == "1736930000.000100"


async def test_out_of_scope_question_says_so_and_offers_a_person(harness: SlackHarness) -> None:
    payload = event_payload("dm_message", text="What is the cafeteria menu on Friday?")

    await harness.event(payload)

    [call] = await harness.api.wait_for("chat.postMessage")
    blocks = call.args["blocks"]
    assert "couldn't find" in blocks[0]["text"]["text"]
    assert "ai_label" not in [b.get("block_id") for b in blocks]
    assert "context_actions" not in block_types(blocks)
    [button] = block(blocks, "answer_actions")["elements"]
    assert (button["text"]["text"], button["action_id"]) == ("Ask a person", render.ASK_PERSON)


async def test_retried_and_duplicated_deliveries_yield_one_answer(harness: SlackHarness) -> None:
    payload = event_payload("dm_message")

    first = await harness.event(payload)
    duplicate = await harness.event(payload)
    retries = [await harness.event(payload, retry_num=n) for n in (1, 2, 3)]
    await harness.api.wait_for("chat.postMessage")
    await harness.settle()

    assert [r.status for r in (first, duplicate, *retries)] == [200] * 5
    assert len(harness.api.called("chat.postMessage")) == 1


async def test_a_retry_of_an_event_never_received_is_answered(harness: SlackHarness) -> None:
    await harness.event(event_payload("dm_message"), retry_num=1)

    assert len(await harness.api.wait_for("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"secret": "0" * 32}, id="wrong secret"),
        pytest.param({"timestamp": int(time.time()) - 60 * 6}, id="stale timestamp"),
    ],
)
async def test_bad_or_stale_signature_gets_401_and_no_answer(
    harness: SlackHarness, change: dict
) -> None:
    payload = event_payload("dm_message")

    response = await harness.post(json.dumps(payload), "application/json", **change)
    await harness.settle()

    assert response.status == 401
    assert harness.api.effects() == []
    # A forged request must not claim the event id: the genuine delivery is still answered.
    assert (await harness.event(payload)).status == 200
    assert len(await harness.api.wait_for("chat.postMessage")) == 1


async def test_unsigned_request_gets_401(harness: SlackHarness) -> None:
    response = await harness.client.post(
        "/slack/events", data=json.dumps(event_payload("dm_message"))
    )

    assert response.status == 401


async def test_url_verification_challenge_is_echoed(harness: SlackHarness) -> None:
    body = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }

    response = await harness.post(json.dumps(body), "application/json")

    assert response.status == 200
    assert response.json() == {"challenge": body["challenge"]}


async def test_edits_and_the_bots_own_messages_are_acknowledged_and_ignored(
    harness: SlackHarness,
) -> None:
    edit = fixture("message_changed")
    own = event_payload("dm_message", user=BOT_USER_ID, bot_id="B0BOTPOLICY")

    responses = [await harness.event(edit), await harness.event(own)]
    await harness.settle()

    assert [r.status for r in responses] == [200, 200]
    assert harness.api.called("chat.postMessage") == []


async def test_assistant_panel_greets_suggests_prompts_and_shows_a_status(
    harness: SlackHarness,
) -> None:
    await harness.event(event_payload("assistant_thread_started"))
    [prompts] = await harness.api.wait_for("assistant.threads.setSuggestedPrompts")
    [greeting] = await harness.api.wait_for("chat.postMessage")

    question = event_payload("assistant_user_message")
    await harness.event(question)
    [status] = await harness.api.wait_for("assistant.threads.setStatus")
    answers = await harness.api.wait_for("chat.postMessage", 2)

    assert greeting.args["thread_ts"] == "1736931000.000100"
    assert [p["title"] for p in prompts.args["prompts"]][0] == "Can I use ChatGPT for work?"
    assert status.args["status"] == render.WORKING_STATUS
    assert status.args["thread_ts"] == "1736931000.000100"
    answer = answers[1].args
    assert answer["thread_ts"] == "1736931000.000100"
    assert "context_actions" in block_types(answer["blocks"])


async def test_answers_that_slack_refuses_become_a_short_apology(harness: SlackHarness) -> None:
    harness.api.fail("chat.postMessage", "invalid_blocks")

    await harness.event(event_payload("dm_message"))

    calls = await harness.api.wait_for("chat.postMessage", 2)
    assert "blocks" in calls[0].args
    assert calls[1].args["text"] == render.ANSWER_FAILED_TEXT
    assert calls[1].args["thread_ts"] == calls[0].args["thread_ts"]


async def test_rate_limited_answers_are_retried_after_retry_after(
    harness: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.api.rate_limit("chat.postMessage", times=1, retry_after=0)

    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        await harness.event(event_payload("dm_message"))
        calls = await harness.api.wait_for("chat.postMessage", 2)

    assert "blocks" in calls[1].args
    assert any("retrying chat.postMessage after HTTP 429" in r.getMessage() for r in caplog.records)


async def test_logs_carry_no_question_text_or_user_id(
    harness: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    payload = event_payload(
        "dm_message", text="Can I paste Mei Chan's HKID A123456(7) into ChatGPT?"
    )

    with caplog.at_level(logging.DEBUG, logger="adapters"):
        await harness.event(payload)
        await harness.api.wait_for("chat.postMessage")
        await harness.settle()

    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith("adapters")
    )
    assert "answered a dm question" in logged
    for secret in ("HKID", "A123456", "Mei Chan", "U0MEICHAN", SIGNING_SECRET):
        assert secret not in logged


async def test_a_failing_core_gets_a_short_apology_without_the_error(
    harness: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(message: object) -> None:
        raise RuntimeError("database password rejected for user policybot")

    monkeypatch.setattr(harness.context.assistant, "handle", broken)

    await harness.event(event_payload("dm_message"))

    [apology] = await harness.api.wait_for("chat.postMessage")
    assert apology.args["text"] == render.SOMETHING_WENT_WRONG_TEXT
    assert apology.args["thread_ts"] == "1736929812.345679"


async def test_a_question_in_chinese_gets_its_buttons_and_labels_in_chinese(
    harness: SlackHarness,
) -> None:
    english = event_payload("dm_message")
    assert (await harness.event(english)).status == 200
    [answered_en] = await harness.api.wait_for("chat.postMessage")

    payload = event_payload("dm_message", text="公司核准使用的人工智能工具有哪些？")
    assert (await harness.event(payload)).status == 200
    calls = await harness.api.wait_for("chat.postMessage", count=2)
    blocks = calls[-1].args["blocks"]
    buttons = [e["text"]["text"] for e in block(blocks, "answer_actions")["elements"]]
    assert buttons[-1] == "轉交支援人員"
    feedback = block(blocks, "feedback")["elements"][0]
    assert feedback["positive_button"]["text"]["text"] == "有幫助"
    assert feedback["negative_button"]["text"]["text"] == "沒有幫助"
    assert buttons == ["報告人工智能事故", "轉交支援人員"]
    assert block(blocks, "sources")["text"]["text"].startswith("*來源*")
    assert "由人工智能" in block(blocks, "ai_label")["elements"][0]["text"]
    # The action ids are the same: only the labels changed.
    english_ids = [
        e["action_id"] for e in block(answered_en.args["blocks"], "answer_actions")["elements"]
    ]
    assert [e["action_id"] for e in block(blocks, "answer_actions")["elements"]] == english_ids[
        -len(buttons) :
    ]

    off_topic = event_payload("dm_message", text="今晚睇咩戲好？")
    assert (await harness.event(off_topic)).status == 200
    calls = await harness.api.wait_for("chat.postMessage", count=3)
    refused = calls[-1].args
    assert refused["text"].startswith("我在公司的生成式人工智能政策")
    buttons = [e["text"]["text"] for e in block(refused["blocks"], "answer_actions")["elements"]]
    assert buttons == ["轉交支援人員"]
