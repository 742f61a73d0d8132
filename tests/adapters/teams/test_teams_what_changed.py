"""A "what changed?" question asked in Teams, after an ingest that recorded one edited
section, is answered from the recorded change, with that section as the cited claim."""

from __future__ import annotations

from pathlib import Path

from adapters.teams.settings import TeamsSettings
from bot.answering.engine import Engine
from tests.adapters.teams.conftest import activity, start_harness
from tests.adapters.teams.fake_connector import FakeConnector
from tests.bot.answering.test_policy_updates import announce_version_3, replica_on_copied_sources


async def test_what_changed_in_a_personal_chat_cites_the_edited_section(
    engine: Engine, make_engine, connector: FakeConnector, tmp_path: Path
) -> None:
    replica = replica_on_copied_sources(engine, make_engine, tmp_path)
    announce_version_3(tmp_path / "sources")
    [change] = replica.ingest().changes
    assert change.section.endswith("4.2 Personal data")

    # The server shares the replica's data folder, so it reads the changes that ingest recorded.
    settings = TeamsSettings(_env_file=None, app_id=None)
    harness = await start_harness(replica, connector, settings, tmp_path / "data")
    try:
        harness.runtime.bot.typing_delay = 0
        status, _ = await harness.post(
            activity("personal_message", text="What changed in the AI policy?")
        )
    finally:
        await harness.close()
    assert status == 201
    [answer] = [c for c in connector.calls if c.type == "message"]
    assert "4.2 Personal data" in answer.text and "version 2.1 → 3.0" in answer.text
    assert "[1]" in answer.text
    [entity] = answer.body["entities"]
    first = next(c for c in entity["citation"] if c["position"] == 1)
    assert "4.2 Personal data" in str(first["appearance"])
