"""The admin page's Announce button: admin role and CSRF token required, nothing recorded
without a configured channel, and the same changes never announced twice."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from adapters.web.accounts import Role
from bot.handoff.announcements import announce, announcements
from bot.handoff.ports import Reporter
from bot.handoff.tickets import AnswerRecord, Escalation
from bot.models import Citation
from bot.store.schema import AnnouncementRow
from tests.announce_fixtures import record_changes


async def test_without_a_channel_the_page_says_so_and_nothing_is_recorded(start_console):
    harness = await start_console()
    harness.add_user("ada", Role.ADMIN)
    await harness.sign_in("ada")
    store = harness.console.services.store
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))

    page = await (await harness.client.get("/console/admin")).text()
    assert "No announcement channel is configured" in page and "Announce 1 change" not in page
    response = await harness.post("/console/admin/announce")
    assert response.status == 409
    assert "no announcement channel is configured" in await response.text()
    assert announcements(store) == []


async def test_an_admin_announces_once_with_a_csrf_token(start_console):
    harness = await start_console(slack_announce_channel="C0NEWS")
    harness.add_user("ada", Role.ADMIN)
    harness.add_user("sam", Role.SUPPORT)
    store = harness.console.services.store
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))

    await harness.sign_in("sam")
    assert (await harness.post("/console/admin/announce")).status == 403
    await harness.sign_in("ada")
    page = await (await harness.client.get("/console/admin")).text()
    assert "Announce 1 change to Slack C0NEWS" in page
    forged = await harness.client.post("/console/admin/announce", data={})
    assert forged.status == 403 and announcements(store) == []

    response = await harness.post("/console/admin/announce")
    assert response.status == 200
    assert "Announcement of 1 changed section(s) sent to Slack C0NEWS" in await response.text()
    [made] = announcements(store)
    assert made.requested_by == "ada" and made.channels == {"slack": "C0NEWS"}

    again = await harness.post("/console/admin/announce")
    assert "nothing to announce" in await again.text()
    assert len(announcements(store)) == 1
    page = await (await harness.client.get("/console/admin")).text()
    assert "Every recorded change has been announced." in page and "by ada" in page


async def test_a_stuck_announcement_shows_why(start_console):
    harness = await start_console(slack_announce_channel="C0NEWS")
    harness.add_user("ada", Role.ADMIN)
    store = harness.console.services.store
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))
    made = announce(store, harness.console.context.settings, by="ada")
    with store.transaction() as session:
        session.execute(
            sa.update(AnnouncementRow)
            .where(AnnouncementRow.id == made.id)
            .values(attempts=2, last_error="slack: SlackApiError: not_in_channel")
        )
    await harness.sign_in("ada")
    page = await (await harness.client.get("/console/admin")).text()
    assert "waiting to be posted; last attempt failed: " in page
    assert "slack: SlackApiError: not_in_channel" in page


async def test_a_stale_answer_is_marked_on_the_support_pages(start_console):
    harness = await start_console()
    harness.add_user("sam", Role.SUPPORT)
    await harness.sign_in("sam")
    handoff = harness.console.services.submissions
    cited = Citation(1, "AI Policy", "4.2 Personal data", "2", "ai-policy.md", "Never.", 0.9)
    answer_id = handoff.record_answer(
        AnswerRecord("web", "k" * 64, "Can I paste names?", "No. [1]", "answered", (cited,))
    )
    reporter = Reporter(platform="web", user_id="visitor-1")
    ticket = handoff.escalate(Escalation(reporter=reporter, answer_id=answer_id)).ticket
    page = await (await harness.client.get("/console/support")).text()
    assert "answer stale" not in page

    later = datetime.now(UTC)  # after the answer, and in force at once
    record_changes(
        harness.console.services.store,
        ("4.2 Personal data", "changed", "Do not."),
        at=later,
        effective=later.date().isoformat(),
    )
    page = await (await harness.client.get("/console/support")).text()
    assert "answer stale" in page
    detail = await (await harness.client.get(f"/console/support/{ticket.reference}")).text()
    assert "Answer went stale" in detail and "4.2 Personal data changed on" in detail
