"""Pure parts of the adapter: Block Kit rendering, event translation, settings."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from adapters.slack import events, render
from adapters.slack.settings import SlackSettings
from bot.errors import ConfigurationError
from bot.models import Action, Citation, Reply, Status
from tests.adapters.slack.conftest import fixture


def citation(n: int, **changes: object) -> Citation:
    values: dict = {
        "n": n,
        "document": "Policy on Employees' Use of Generative AI",
        "section": "4. Information › 4.3 Sensitive data",
        "version": "2.0",
        "source": "https://example.com/policies/genai",
        "text": "Never paste HKID numbers.",
        "score": 0.61,
    }
    values.update(changes)
    return Citation(**values)


ANSWERED = Reply(
    text="Never paste HKID numbers into an AI tool [1]. Use approved tools [2].",
    citations=(citation(1), citation(2, source="policies/tools.md", version=None, location="p. 3")),
    ai_generated=True,
    status=Status.ANSWERED,
    actions=(Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON),
)


def test_answer_blocks_parse_as_slack_sdk_blocks() -> None:
    blocks = render.reply_blocks(ANSWERED, action_value=render.encode_action_value(answer_id="a1"))

    parsed = Block.parse_all(blocks)

    assert [b.type for b in parsed] == [
        "section",
        "context",
        "section",
        "context_actions",
        "actions",
    ]
    assert [b.to_dict() for b in parsed] == blocks


def test_one_sources_line_per_citation_with_document_section_version_and_link() -> None:
    lines = render.sources_block(ANSWERED.citations)["text"]["text"].splitlines()

    assert lines == [
        "*Sources*",
        "*[1]* Policy on Employees' Use of Generative AI › 4. Information › 4.3 Sensitive data"
        " · version 2.0 · <https://example.com/policies/genai|link>",
        "*[2]* Policy on Employees' Use of Generative AI › 4. Information › 4.3 Sensitive data"
        " · p. 3 · `policies/tools.md`",
    ]


def test_control_characters_are_escaped_and_long_answers_split() -> None:
    reply = Reply(text="a < b & c > d. " * 400, status=Status.ANSWERED)

    blocks = render.reply_blocks(reply)

    assert "&lt;" in blocks[0]["text"]["text"] and "<" not in blocks[0]["text"]["text"]
    assert len(blocks) > 1
    assert all(len(b["text"]["text"]) <= render.MAX_SECTION_TEXT for b in blocks)


def test_feedback_values_carry_the_rating_and_the_action_value() -> None:
    value = render.encode_action_value(answer_id=None, question="Can I use Copilot?")
    feedback = render.feedback_block(value)["elements"][0]

    helpful, data = render.split_feedback_value(feedback["negative_button"]["value"])

    assert helpful is False
    assert data == {"q": "Can I use Copilot?"}
    assert render.split_feedback_value(feedback["positive_button"]["value"])[0] is True


def test_action_values_fit_slacks_limit_whatever_the_question() -> None:
    value = render.encode_action_value(answer_id=None, question="日本語の質問 " * 1000)

    assert len(render.FEEDBACK_NEGATIVE + "|" + value) <= render.MAX_BUTTON_VALUE
    assert render.decode_action_value(value)["q"].startswith("日本語の質問")
    assert render.decode_action_value("not json") == {}


def test_mentions_of_the_app_are_removed_from_questions() -> None:
    event = fixture("app_mention")["event"]

    message = events.message_from_event(event, bot_user_id="U0BOTPOLICY")

    assert message.text == "may I use Copilot to summarise a board paper?"
    assert (message.user_id, message.conversation_id) == ("U0RAVIKUMAR", "C0FINANCE1")
    assert message.thread_id == event["ts"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", events.Command("help", "")),
        ("  REPORT  ", events.Command("report", "")),
        ("feedback the answers are great", events.Command("feedback", "the answers are great")),
        ("Can I report a colleague?", events.Command("ask", "Can I report a colleague?")),
    ],
)
def test_subcommands_are_parsed(text: str, expected: events.Command) -> None:
    assert events.parse_command(text) == expected


def test_only_new_messages_from_people_in_a_dm_are_direct_questions() -> None:
    dm = fixture("dm_message")["event"]
    edit = fixture("message_changed")["event"]

    assert events.is_direct_question(dm)
    assert not events.is_direct_question(edit)
    assert not events.is_direct_question({**dm, "bot_id": "B1"})
    assert not events.is_direct_question({**dm, "channel_type": "channel"})


def test_settings_read_slacks_own_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("POLICYBOT_SLACK_ADMINS", "U1, U2,")
    monkeypatch.setenv("POLICYBOT_SLACK_SUPPORT_CHANNEL", "C0SUPPORT")

    settings = SlackSettings(_env_file=None)

    assert (settings.token, settings.secret, settings.api_url) == (
        "xoxb-1",
        "s",
        "http://127.0.0.1:9/api/",
    )
    assert settings.admins == frozenset({"U1", "U2"})
    assert settings.support_channel == "C0SUPPORT"
    assert not settings.socket_mode
    assert "xoxb-1" not in repr(settings)


@pytest.mark.parametrize(
    ("values", "fix"),
    [
        ({"signing_secret": "s"}, "SLACK_BOT_TOKEN is not set: install the app"),
        ({"bot_token": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set: copy it from Basic"),
        ({"bot_token": "xoxp-1", "signing_secret": "s"}, "Bot User OAuth Token (xoxb-...)"),
        ({"bot_token": "xoxb-1", "app_token": "xoxb-2"}, "app-level token (xapp-...)"),
    ],
)
def test_half_configured_slack_fails_at_start_up_with_the_fix(values: dict, fix: str) -> None:
    with pytest.raises(ConfigurationError, match=fix.replace("(", r"\(").replace(")", r"\)")):
        SlackSettings(_env_file=None, **values)


def test_no_slack_settings_means_the_adapter_is_off() -> None:
    assert not SlackSettings(_env_file=None).configured


def test_suggested_prompts_fit_the_assistant_api() -> None:
    prompts = render.suggested_prompts()

    assert 1 <= len(prompts) <= 4
    assert all(set(p) == {"title", "message"} for p in prompts)
    assert json.dumps(prompts)
