"""A policy-change announcement reaches the configured Slack channel through the outbox
relay and the real Bolt app's notifier, with document text escaped, and is posted once."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bot.handoff.announcements import announce, announcements
from bot.store.schema import AnnouncementRow
from tests.adapters.slack.conftest import SlackHarness
from tests.announce_fixtures import record_changes

NEWS = "C0POLICYNEWS"


async def test_an_announcement_is_posted_to_the_announce_channel_once(
    harness: SlackHarness,
) -> None:
    store = harness.context.assistant.store
    settings = harness.context.settings.model_copy(
        update={
            "slack_announce_channel": NEWS,
            "policy_link_base": "https://intranet.example/policies",
        }
    )
    record_changes(
        store,
        ("4.2 Personal data <!channel>", "changed", "Do not."),
        ("7 Old rule", "removed", ""),
        title="AI <https://evil.example|Policy>",
    )
    announce(store, settings, by="ada")
    await harness.context.assistant.deliveries.deliver_pending()

    [post] = [c for c in harness.api.called("chat.postMessage") if c.args["channel"] == NEWS]
    text = post.args["text"]
    assert text.startswith("*Policy update: 2 sections changed*")
    assert "• Changed: AI &lt;https://evil.example|Policy&gt; › 4.2 Personal data" in text
    assert "<!channel>" not in json.dumps(post.args) and "<https://evil" not in text
    assert "<https://intranet.example/policies/ai-policy.md#4-2-personal-data-channel|read>" in text
    assert "• Removed:" in text and text.count("|read>") == 1
    [recorded] = announcements(store)
    assert recorded.delivered_to == {"slack"} and recorded.delivered_at is not None

    await harness.context.assistant.deliveries.deliver_pending()  # nothing is posted again
    assert (
        len([c for c in harness.api.called("chat.postMessage") if c.args["channel"] == NEWS]) == 1
    )


async def test_a_failed_post_is_kept_and_retried(harness: SlackHarness) -> None:
    store = harness.context.assistant.store
    settings = harness.context.settings.model_copy(update={"slack_announce_channel": NEWS})
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))
    harness.api.fail("chat.postMessage", error="channel_not_found")
    announce(store, settings, by="ada")
    await harness.context.assistant.deliveries.deliver_pending()

    with store.engine.connect() as connection:
        row = connection.execute(sa.select(AnnouncementRow)).one()
    assert row.delivered_at is None and "channel_not_found" in row.last_error
    assert row.attempts == 1
