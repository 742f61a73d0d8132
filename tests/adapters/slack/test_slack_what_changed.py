"""A "what changed?" question asked in Slack, after an ingest that recorded one edited
section, is answered from the recorded change and cites that section."""

from __future__ import annotations

from pathlib import Path

from bot.answering.engine import Engine
from tests.adapters.slack.conftest import event_payload, slack_settings, start_harness
from tests.adapters.slack.fake_slack_api import FakeSlackApi
from tests.bot.answering.test_policy_updates import announce_version_3, replica_on_copied_sources


async def test_what_changed_in_a_dm_cites_the_edited_section(
    engine: Engine, make_engine, slack_api: FakeSlackApi, tmp_path: Path
) -> None:
    replica = replica_on_copied_sources(engine, make_engine, tmp_path)
    announce_version_3(tmp_path / "sources")
    [change] = replica.ingest().changes
    assert change.section.endswith("4.2 Personal data")

    # The server shares the replica's data folder, so it reads the changes that ingest recorded.
    harness = await start_harness(replica, slack_api, slack_settings(slack_api), tmp_path / "data")
    try:
        await harness.event(event_payload("dm_message", text="What changed in the AI policy?"))
        [call] = await harness.api.wait_for("chat.postMessage")
    finally:
        await harness.close()
    text = call.args["blocks"][0]["text"]["text"]
    assert "4.2 Personal data" in text and "version 2.1 → 3.0" in text and "[1]" in text
    sources_block = next(b for b in call.args["blocks"] if b.get("block_id") == "sources")
    first = sources_block["text"]["text"].splitlines()[1]
    assert first.startswith("*[1]*") and "4.2 Personal data" in first and "version 3.0" in first
