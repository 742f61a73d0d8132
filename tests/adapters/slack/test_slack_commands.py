"""``/genai-policy``: acknowledged at once, slow parts answered through ``response_url``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapters.slack import commands, render
from bot.answering.engine import Engine
from tests.adapters.slack.conftest import ADMIN, SlackHarness, slack_settings, start_harness
from tests.adapters.slack.fake_slack_api import FakeSlackApi
from tests.databases import ingest_runs_of


async def test_help_and_an_empty_command_answer_in_the_acknowledgement(
    harness: SlackHarness,
) -> None:
    for text in ("help", ""):
        response = await harness.command(text)

        assert response.status == 200
        assert response.json()["text"] == render.HELP_TEXT
    assert harness.api.effects() == []


async def test_a_question_is_acknowledged_empty_and_answered_ephemerally(
    harness: SlackHarness,
) -> None:
    response = await harness.command("can I paste customer data into ChatGPT?")

    assert (response.status, response.text) == (200, "")
    [answer] = await harness.api.wait_for("response_url")
    assert answer.args["response_type"] == "ephemeral"
    assert "[1]" in answer.args["blocks"][0]["text"]["text"]
    assert "context_actions" in [b["type"] for b in answer.args["blocks"]]


async def test_reingest_by_a_non_admin_is_refused_and_runs_nothing(harness: SlackHarness) -> None:
    response = await harness.command("reingest", user_id="U0MEICHAN")
    await harness.settle()

    assert response.status == 200
    assert response.json()["text"] == commands.NOT_ADMIN_TEXT
    assert harness.api.effects() == []


async def test_reingest_by_an_admin_answers_at_once_and_posts_the_report(
    make_engine: Callable[..., Engine], slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    harness = await start_harness(make_engine(), slack_api, slack_settings(slack_api), tmp_path)
    try:
        response = await harness.command("reingest", user_id=ADMIN)
        again = await harness.command("reingest", user_id=ADMIN)
        [report] = await harness.api.wait_for("response_url", timeout=120)
        runs = ingest_runs_of(harness.context.engine.settings)
    finally:
        await harness.close()

    assert response.json()["text"] == commands.REINGEST_STARTED_TEXT
    assert again.json()["text"] == commands.REINGEST_RUNNING_TEXT
    assert report.args["text"].startswith("Re-ingestion finished: every file was ingested.")
    assert "Documents: 4." in report.args["text"]
    assert [(run.trigger, run.report["documents"]) for run in runs] == [("slack", 4)]
