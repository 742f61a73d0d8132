"""Feedback invokes and admin commands through /api/messages."""

from __future__ import annotations

from pathlib import Path

from adapters.teams.settings import TeamsSettings
from tests.adapters.teams.conftest import ADMIN_AAD_ID, TeamsHarness, activity, start_harness
from tests.databases import ingest_runs_of


async def test_feedback_invoke_is_answered_200_with_an_empty_body(harness: TeamsHarness):
    status, body = await harness.post(activity("feedback_invoke"))

    assert (status, body) == (200, b"")
    assert harness.connector.calls == []


async def test_a_resent_feedback_invoke_still_gets_its_200(harness: TeamsHarness):
    invoke = activity("feedback_invoke")

    first = await harness.post(invoke)
    again = await harness.post(invoke)

    assert first == again == (200, b"")


async def test_an_unknown_invoke_is_not_implemented(harness: TeamsHarness):
    status, _ = await harness.post(activity("feedback_invoke", name="something/else", value={}))
    assert status == 501


async def test_admin_commands_are_refused_to_others(harness: TeamsHarness):
    other = activity("personal_message", text="admin reingest")
    other["from"] = {**other["from"], "aadObjectId": "00000000-0000-4000-8000-000000000000"}

    await harness.post(other)

    [reply] = harness.connector.sent()
    assert "Only administrators" in reply.text
    assert "POLICYBOT_TEAMS_ADMINS" in reply.text


async def test_admin_reingest_posts_the_report_when_done(connector, tmp_path: Path, make_engine):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "policy.md").write_text("# Tiny policy\n\n## Tools\n\nOnly approved tools.\n")
    settings = TeamsSettings(_env_file=None, app_id=None, admins=frozenset({ADMIN_AAD_ID}))
    admin = await start_harness(make_engine(sources=[sources]), connector, settings, tmp_path)
    try:
        status, _ = await admin.post(activity("personal_message", text="admin reingest"))
        calls = await connector.wait_for(lambda calls: len(calls) >= 2)
        runs = ingest_runs_of(admin.context.engine.settings)
    finally:
        await admin.close()

    assert status == 201
    assert [(run.trigger, run.error) for run in runs] == [("teams", None)]
    ack, report = calls
    assert "Re-ingesting" in ack.text
    assert "Re-ingestion finished" in report.text and "Documents: 1." in report.text
    assert report.conversation_id == ack.conversation_id
