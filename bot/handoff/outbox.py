"""Delivering the hand-off service's notifications through the adapters' notifiers.

The service writes each notification to the ``outbox`` table in the same transaction as
the change that caused it; :class:`OutboxRelay` delivers them afterwards. So a claim made
with ``policybot tickets claim`` in a shell still reaches a reporter on Slack (the server
process delivers it), a notification is never sent for a change that rolled back, and one
that fails (platform down) is retried with backoff.

Routing: a message for a reporter goes to the notifier registered for the reporter's
platform; a support-channel update goes to every notifier registered with
``support=True``. A process delivers only what it has a notifier for, and several
processes may deliver at once: each takes a row by a conditional UPDATE of its lease.
Delivery is at-least-once, so ``Notifier.post_ticket`` should update the ticket's card
when it already posted one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from bot.handoff import stale_notes
from bot.handoff.announcements import Announcement, _announcement
from bot.handoff.ports import Notifier
from bot.handoff.records import ticket_of, utc_now
from bot.handoff.tickets import Ticket
from bot.store import Store
from bot.store.leases import take_lease
from bot.store.schema import AnnouncementRow, OutboxRow, TicketRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


class Notifiers:
    """The notifiers of this process, by platform; adapters register theirs in ``setup``."""

    def __init__(self) -> None:
        self._by_platform: dict[str, Notifier] = {}
        self._support: list[Notifier] = []

    def register(self, notifier: Notifier, *, support: bool = False) -> None:
        """Deliver messages for ``notifier.platform``'s users through ``notifier``; with
        ``support`` also post ticket updates to the support channel it knows."""
        self._by_platform[notifier.platform] = notifier
        if support and notifier not in self._support:
            self._support.append(notifier)

    def for_platform(self, platform: str) -> Notifier | None:
        return self._by_platform.get(platform)

    @property
    def platforms(self) -> list[str]:
        return list(self._by_platform)

    @property
    def support(self) -> list[Notifier]:
        return list(self._support)


@dataclass(frozen=True)
class _Job:
    id: int
    target: str
    event: str
    text: str | None
    attempts: int
    ticket: Ticket
    delivered_to: frozenset[str] = frozenset()


class OutboxRelay:
    """Takes due notifications from the outbox and hands them to the notifiers."""

    def __init__(
        self,
        store: Store,
        notifiers: Notifiers,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.notifiers = notifiers
        self.clock = clock
        self._lock = asyncio.Lock()

    async def deliver_pending(self, *, limit: int = BATCH) -> int:
        """Deliver everything due that this process can deliver; return how many succeeded.

        One delivery round at a time per relay, and per ticket in the order the changes were
        made (a card is posted before it is updated). Failures are logged and retried later
        with backoff; they never raise to the caller.
        """
        delivered = 0
        async with self._lock:
            while jobs := await asyncio.to_thread(self._take, limit):
                for job in jobs:
                    try:
                        await self._send(job)
                    except Exception as exc:  # any adapter failure: keep the row for a retry
                        log.warning(
                            "notification %s (%s %s) failed, attempt %d: %s",
                            job.id, job.ticket.reference, job.event, job.attempts, exc,
                        )  # fmt: skip
                        error = f"{exc.__class__.__name__}: {exc}"
                        await asyncio.to_thread(self._failed, job, error)
                    else:
                        delivered += 1
                        await asyncio.to_thread(self._done, job)
            delivered += await self._deliver_announcements(limit)
            delivered += await self._deliver_notes(limit)
        return delivered

    # -- notes to askers whose answer went stale (an admin's action, one row per answer) --

    async def _deliver_notes(self, limit: int) -> int:
        delivered = 0
        now = self.clock()
        for note in await asyncio.to_thread(
            stale_notes.take_due, self.store, self.notifiers.platforms, now, limit
        ):
            notifier = self.notifiers.for_platform(note.platform)
            error = None
            try:
                if notifier is None or note.address is None:
                    raise LookupError("the answer and its way back to the asker are gone")
                await notifier.send_note(note.address, note.reply)
            except Exception as exc:  # kept with its error; retried with backoff
                error = f"{exc.__class__.__name__}: {exc}"
                log.warning(
                    "stale-answer note %s failed, attempt %d: %s", note.id, note.attempts, error
                )
            else:
                delivered += 1
                log.info("stale-answer note %s sent on %s", note.id, note.platform)
            await asyncio.to_thread(
                stale_notes.tried,
                self.store,
                note,
                self.clock(),
                error=error,
                retry_after=backoff(note.attempts),
            )
        return delivered

    # -- announcements of policy changes (an admin's action, one row per announcement) ----

    async def _deliver_announcements(self, limit: int) -> int:
        delivered = 0
        for announcement, attempts in await asyncio.to_thread(self._take_announcements, limit):
            reached = set(announcement.delivered_to)
            failures: list[str] = []
            for platform, channel in announcement.channels.items():
                notifier = self.notifiers.for_platform(platform)
                if platform in reached or notifier is None:
                    continue  # reached already, or another process delivers it
                try:
                    await notifier.post_announcement(announcement, channel)
                except Exception as exc:  # the other platforms still get theirs
                    failures.append(f"{platform}: {exc.__class__.__name__}: {exc}")
                    continue
                reached.add(platform)
                log.info("announcement %s posted on %s", announcement.id, platform)
            done = reached >= set(announcement.channels)
            if failures:
                log.warning(
                    "announcement %s failed, attempt %d: %s",
                    announcement.id, attempts, "; ".join(failures),
                )  # fmt: skip
            elif done:
                delivered += 1
            await asyncio.to_thread(
                self._announcement_tried, announcement.id, reached, done, attempts, failures
            )
        return delivered

    def _take_announcements(self, limit: int) -> list[tuple[Announcement, int]]:
        platforms = set(self.notifiers.platforms)
        if not platforms:
            return []
        now = self.clock()
        taken: list[tuple[Announcement, int]] = []
        with self.store.transaction() as session:
            rows = session.scalars(
                sa.select(AnnouncementRow)
                .where(
                    AnnouncementRow.delivered_at.is_(None),
                    AnnouncementRow.due_at <= now,
                    AnnouncementRow.attempts < MAX_ATTEMPTS,
                )
                .order_by(AnnouncementRow.id)
                .limit(limit)
            ).all()
            wanted = [
                row.id
                for row in rows
                if (set(row.channels) - set((row.delivered_to or "").split(","))) & platforms
            ]
        for row_id in wanted:
            with self.store.transaction() as session:
                row = take_lease(
                    session,
                    AnnouncementRow,
                    row_id,
                    finished=AnnouncementRow.delivered_at,
                    now=now,
                )
                if row is None:
                    continue  # another process took it
                taken.append((_announcement(row), row.attempts))
        return taken

    def _announcement_tried(
        self, row_id: int, reached: set[str], done: bool, attempts: int, failures: list[str]
    ) -> None:
        now = self.clock()
        values: dict[str, object] = {"delivered_to": ",".join(sorted(reached)) or None}
        if done and not failures:
            values.update(delivered_at=now, last_error=None)
        elif failures:
            values.update(due_at=now + backoff(attempts), last_error="; ".join(failures)[:1000])
        else:  # the rest is for another process's notifier: release the lease now
            values.update(due_at=now, attempts=max(0, attempts - 1))
        with self.store.transaction() as session:
            session.execute(
                sa.update(AnnouncementRow).where(AnnouncementRow.id == row_id).values(**values)
            )

    async def run(self, *, interval: float = 15.0) -> None:
        """Deliver forever (a server's background task); cancel the task to stop."""
        while True:
            try:
                await self.deliver_pending()
            except Exception:  # the store may be briefly unreachable; try again next round
                log.exception("notification delivery round failed")
            await asyncio.sleep(interval)

    async def _send(self, job: _Job) -> None:
        if job.target == "reporter":
            notifier = self.notifiers.for_platform(job.ticket.reporter.platform)
            if notifier is None:
                raise LookupError(f"no notifier for {job.ticket.reporter.platform}")
            await notifier.notify_reporter(job.ticket.reporter, job.text or "")
            return
        # Each support notifier once: a retry after one platform failed must not post the
        # others' cards again, so every success is recorded as it happens.
        reached = set(job.delivered_to)
        failures: list[str] = []
        for notifier in self.notifiers.support:
            if notifier.platform in reached:
                continue
            try:
                await notifier.post_ticket(job.ticket, event=job.event)
            except Exception as exc:  # the other platforms still get theirs
                failures.append(f"{notifier.platform}: {exc.__class__.__name__}: {exc}")
                continue
            reached.add(notifier.platform)
            await asyncio.to_thread(self._reached, job.id, reached)
        if failures:
            raise RuntimeError("; ".join(failures))

    def _reached(self, row_id: int, platforms: set[str]) -> None:
        with self.store.transaction() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(delivered_to=",".join(sorted(platforms)))
            )

    def _take(self, limit: int) -> list[_Job]:
        """Lease up to ``limit`` due rows this process can deliver."""
        reporter_platforms = self.notifiers.platforms
        targets = [OutboxRow.target == "reporter"] if reporter_platforms else []
        if self.notifiers.support:
            targets.append(OutboxRow.target == "support")
        if not targets:
            return []
        now = self.clock()
        store = self.store
        earlier = aliased(OutboxRow)
        jobs: list[_Job] = []
        with store.transaction() as session:
            candidates = (
                session.execute(
                    sa.select(OutboxRow.id)
                    .where(
                        OutboxRow.delivered_at.is_(None),
                        OutboxRow.due_at <= now,
                        OutboxRow.attempts < MAX_ATTEMPTS,
                        sa.or_(*targets),
                        sa.or_(
                            OutboxRow.platform.is_(None), OutboxRow.platform.in_(reporter_platforms)
                        ),
                        # One at a time per ticket and target, in order.
                        ~sa.exists().where(
                            earlier.ticket_id == OutboxRow.ticket_id,
                            earlier.target == OutboxRow.target,
                            earlier.id < OutboxRow.id,
                            earlier.delivered_at.is_(None),
                            earlier.attempts < MAX_ATTEMPTS,
                        ),
                    )
                    .order_by(OutboxRow.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        for row_id in candidates:
            with store.transaction() as session:
                taken = take_lease(
                    session, OutboxRow, row_id, finished=OutboxRow.delivered_at, now=now
                )
                if taken is None:
                    continue  # another process took it
                ticket_row = session.get(TicketRow, taken.ticket_id)
                assert ticket_row is not None
                jobs.append(
                    _Job(
                        id=row_id,
                        target=taken.target,
                        event=taken.event,
                        text=taken.text,
                        attempts=taken.attempts,
                        ticket=ticket_of(ticket_row, now),
                        delivered_to=frozenset(filter(None, (taken.delivered_to or "").split(","))),
                    )
                )
        return jobs

    def _done(self, job: _Job) -> None:
        with self.store.transaction() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == job.id)
                .values(delivered_at=self.clock(), last_error=None)
            )

    def _failed(self, job: _Job, error: str) -> None:
        if job.attempts >= MAX_ATTEMPTS:
            log.error(
                "notification %s (%s %s) given up after %d attempts: %s; it stays in the "
                "outbox (policybot db status counts it): fix the platform, then re-send it by "
                "changing the ticket",
                job.id, job.ticket.reference, job.event, job.attempts, error,
            )  # fmt: skip
        with self.store.transaction() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == job.id)
                .values(due_at=self.clock() + backoff(job.attempts), last_error=error[:1000])
            )


def given_up_count(store: Store) -> int:
    """Notifications that failed every attempt and will not be retried."""
    with store.transaction() as session:
        return (
            session.scalar(
                sa.select(sa.func.count()).where(
                    OutboxRow.delivered_at.is_(None), OutboxRow.attempts >= MAX_ATTEMPTS
                )
            )
            or 0
        )


def pending_count(store: Store) -> int:
    """Notifications not delivered yet (for health checks and the CLI)."""
    with store.transaction() as session:
        return (
            session.scalar(sa.select(sa.func.count()).where(OutboxRow.delivered_at.is_(None))) or 0
        )
