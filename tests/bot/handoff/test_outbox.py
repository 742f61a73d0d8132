"""The outbox relay: notifications decided in a transaction, delivered after it, retried."""

from __future__ import annotations

import asyncio

from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import (
    MAX_ATTEMPTS,
    Notifiers,
    OutboxRelay,
    backoff,
    given_up_count,
    pending_count,
)
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import GeneralFeedback
from bot.store import Store
from tests.bot.fakes import FakeClock, RecordingNotifier


def relay_with(store: Store, clock: FakeClock, *notifiers: tuple[RecordingNotifier, bool]):
    registry = Notifiers()
    for notifier, support in notifiers:
        registry.register(notifier, support=support)
    return OutboxRelay(store, registry, clock=clock)


async def test_a_change_made_elsewhere_is_delivered_by_the_next_relay_round(
    handoff: Handoff, queue: SupportQueue, store: Store, clock: FakeClock, reporter: Reporter
) -> None:
    """E.g. ``policybot tickets claim`` in a shell: the server process tells the reporter."""
    reference = handoff.general_feedback(
        GeneralFeedback(reporter=reporter, text="x")
    ).ticket.reference
    queue.claim(reference, "alice")
    slack = RecordingNotifier(platform="slack")
    relay = relay_with(store, clock, (slack, True))
    assert await relay.deliver_pending() == 3
    assert [event for _, event, _ in slack.posts] == ["created", "claimed"]
    assert slack.posts[0][2] == "claimed"  # the card shows the ticket as it is now
    assert [r.user_id for r, _ in slack.to_reporters] == ["U123"]
    assert await relay.deliver_pending() == 0 and pending_count(store) == 0


async def test_failed_deliveries_are_retried_with_backoff(
    handoff: Handoff, store: Store, clock: FakeClock, reporter: Reporter
) -> None:
    handoff.general_feedback(GeneralFeedback(reporter=reporter, text="x"))
    flaky = RecordingNotifier(platform="slack", fail=True)
    relay = relay_with(store, clock, (flaky, True))
    assert await relay.deliver_pending() == 0
    assert pending_count(store) == 1
    clock.advance(seconds=backoff(1).total_seconds() - 1)
    assert await relay.deliver_pending() == 0 and flaky.posts == []
    flaky.fail = False
    clock.advance(seconds=2)
    assert await relay.deliver_pending() == 1 and len(flaky.posts) == 1
    assert pending_count(store) == 0


async def test_each_process_delivers_only_what_it_has_a_notifier_for(
    handoff: Handoff, queue: SupportQueue, store: Store, clock: FakeClock
) -> None:
    teams_user = Reporter("teams", "aad-1", conversation_ref='{"conversation": "a:1"}')
    reference = handoff.general_feedback(
        GeneralFeedback(reporter=teams_user, text="x")
    ).ticket.reference
    queue.claim(reference, "alice")
    # The terminal chat delivers to its own user only; it must not take support posts.
    terminal = RecordingNotifier(platform="cli")
    assert await relay_with(store, clock, (terminal, False)).deliver_pending() == 0
    slack = RecordingNotifier(platform="slack")
    assert await relay_with(store, clock, (slack, True)).deliver_pending() == 2
    assert slack.to_reporters == [] and pending_count(store) == 1
    teams = RecordingNotifier(platform="teams")
    assert await relay_with(store, clock, (teams, False)).deliver_pending() == 1
    assert teams.to_reporters[0][0] == teams_user


async def test_two_relays_at_once_deliver_every_notification_once(
    handoff: Handoff, store: Store, clock: FakeClock, reporter: Reporter
) -> None:
    for n in range(20):
        handoff.general_feedback(GeneralFeedback(reporter=reporter, text=f"idea {n}"))
    first, second = RecordingNotifier(), RecordingNotifier()
    delivered = await asyncio.gather(
        relay_with(store, clock, (first, True)).deliver_pending(),
        relay_with(store, clock, (second, True)).deliver_pending(),
    )
    assert sum(delivered) == 20
    assert sorted(p[0] for p in first.posts + second.posts) == sorted(
        f"FB-2026-{n:04d}" for n in range(1, 21)
    )


async def test_one_failing_platform_does_not_repost_the_others_cards(
    handoff: Handoff, store: Store, clock: FakeClock, reporter: Reporter
) -> None:
    handoff.general_feedback(GeneralFeedback(reporter=reporter, text="x"))
    slack = RecordingNotifier(platform="slack")
    teams = RecordingNotifier(platform="teams", fail=True)
    relay = relay_with(store, clock, (slack, True), (teams, True))

    assert await relay.deliver_pending() == 0
    assert len(slack.posts) == 1 and pending_count(store) == 1
    teams.fail = False
    clock.advance(seconds=backoff(1).total_seconds() + 1)

    assert await relay.deliver_pending() == 1
    assert len(slack.posts) == 1, "Slack's card was not posted a second time"
    assert len(teams.posts) == 1 and pending_count(store) == 0


async def test_a_notification_given_up_is_logged_and_counted(
    handoff: Handoff, store: Store, clock: FakeClock, reporter: Reporter, caplog
) -> None:
    handoff.general_feedback(GeneralFeedback(reporter=reporter, text="x"))
    down = RecordingNotifier(platform="slack", fail=True)
    relay = relay_with(store, clock, (down, True))

    for attempt in range(1, MAX_ATTEMPTS + 1):
        await relay.deliver_pending()
        clock.advance(seconds=backoff(attempt).total_seconds() + 1)

    assert given_up_count(store) == 1
    assert "given up after 8 attempts" in caplog.text
    assert [r.levelname for r in caplog.records if "given up" in r.getMessage()] == ["ERROR"]
