"""A policy-change announcement reaches the configured Teams channel through the outbox
relay and the real CloudAdapter's proactive post, with document text kept as text."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.teams.settings import TeamsSettings
from bot.answering.engine import Engine
from bot.handoff.announcements import announce, announcements
from tests.adapters.teams.conftest import ADMIN_AAD_ID, start_harness
from tests.adapters.teams.fake_connector import FakeConnector
from tests.announce_fixtures import record_changes

NEWS = "19:policy-news@thread.tacv2"


async def test_an_announcement_is_posted_to_the_announce_conversation(
    engine: Engine, connector: FakeConnector, tmp_path: Path
) -> None:
    settings = TeamsSettings(
        _env_file=None, app_id=None, admins=frozenset({ADMIN_AAD_ID}), service_url=connector.url
    )
    harness = await start_harness(engine, connector, settings, tmp_path)
    try:
        store = harness.assistant.store
        core = harness.context.settings.model_copy(
            update={
                "teams_announce_conversation": NEWS,
                "policy_link_base": "https://intranet.example/policies",
            }
        )
        record_changes(
            store,
            ("4.2 Personal data", "changed", "Do not."),
            title="AI [Sign in](https://evil.example)",
        )
        announce(store, core, by="ada")
        await harness.assistant.deliveries.deliver_pending()

        [post] = [c for c in connector.sent() if c.conversation_id == NEWS]
        [card] = post.cards
        everything = json.dumps(card)
        assert "Policy update: 1 section changed" in everything
        assert "[Sign in](https" not in everything and "Sign in]\\u200b(" in everything
        assert "[read](https://intranet.example/policies/ai-policy.md#4-2-personal-data)" in (
            everything
        )
        [recorded] = announcements(store)
        assert recorded.delivered_to == {"teams"} and recorded.delivered_at is not None

        await harness.assistant.deliveries.deliver_pending()
        assert len([c for c in connector.sent() if c.conversation_id == NEWS]) == 1
    finally:
        await harness.close()
