"""Announcing policy changes: a summary of the recorded section changes, posted on an admin's
action to the configured Slack channel and Teams conversation.

Nothing is posted by an ingest: an admin asks (console button or ``policybot changes
--announce``), :func:`announce` records the announcement (who, when, which changes) in the
same transaction that picks the changes, and the outbox relay delivers it to each platform's
notifier. Each change records the announcement that covered it, so it is never picked
again, while a change left out by ``since`` stays announceable; a second click racing the
first finds its changes claimed and gets :class:`NothingToAnnounce`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.errors import ConfigurationError, PolicyBotError
from bot.handoff.records import utc_now
from bot.settings import Settings
from bot.store import Store
from bot.store.documents import DocumentStore
from bot.store.schema import AnnouncementRow, SectionChangeRow

# At most this many sections are listed in one post; the rest are counted.
MAX_LISTED = 25
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class NothingToAnnounce(PolicyBotError):
    """Every recorded change (in the range asked for) has been announced already."""


class _Raced(Exception):
    """Another announcement claimed some of the picked changes first."""


class NoAnnounceChannel(ConfigurationError):
    """Neither platform has an announcement channel configured."""


@dataclass(frozen=True)
class AnnouncedSection:
    document: str
    section: str
    change: str
    new_version: str | None
    effective: str | None
    link: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "section": self.section,
            "change": self.change,
            "new_version": self.new_version,
            "effective": self.effective,
            "link": self.link,
        }


@dataclass(frozen=True)
class Announcement:
    id: int
    requested_by: str
    created_at: datetime
    change_count: int
    sections: list[AnnouncedSection]
    channels: dict[str, str]
    delivered_to: frozenset[str] = frozenset()
    delivered_at: datetime | None = None
    # Why the last delivery attempt failed (a platform down, a bad channel); None once posted.
    last_error: str | None = None

    @property
    def heading(self) -> str:
        count = self.change_count
        return f"Policy update: {count} section{'s' if count != 1 else ''} changed"

    @property
    def unlisted(self) -> int:
        return max(0, self.change_count - len(self.sections))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "changes": self.change_count,
            "sections": [section.as_json() for section in self.sections],
            "channels": dict(self.channels),
            "delivered_to": sorted(self.delivered_to),
            "delivered": self.delivered_at is not None,
            "last_error": self.last_error,
        }


def channels_of(settings: Settings) -> dict[str, str]:
    """Where announcements go: platform → channel, only the platforms configured."""
    channels = {}
    if settings.slack_announce_channel:
        channels["slack"] = settings.slack_announce_channel
    if settings.teams_announce_conversation:
        channels["teams"] = settings.teams_announce_conversation
    return channels


def section_link(base: str | None, document: str, section: str) -> str | None:
    """``BASE/<document>#<section-slug>`` when the policies are published at ``base``."""
    if not base:
        return None
    slug = re.sub(r"[^\w]+", "-", section.lower()).strip("-")
    link = f"{base}/{quote(document, safe='/')}"
    return f"{link}#{quote(slug)}" if slug else link


def _unannounced(store: Store, session: Any, since: str | None) -> list[SectionChangeRow]:
    """The changes no announcement covered yet (``since`` narrows the pick, never the rest:
    older changes stay announceable)."""
    table = SectionChangeRow
    query = sa.select(table).where(table.announcement_id.is_(None)).order_by(table.id)
    if since:
        if _DATE.match(since):
            day = date.fromisoformat(since)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            query = query.where(sa.or_(table.effective >= since, table.recorded_at >= start))
        else:
            after = DocumentStore(store)._ingested_at(session, since, None)
            query = query.where(table.recorded_at > after)
    return list(session.scalars(query).all())


def pending(store: Store, *, since: str | None = None) -> int:
    """How many recorded changes no announcement has covered yet."""
    with store.transaction() as session:
        return len(_unannounced(store, session, since))


def announce(
    store: Store,
    settings: Settings,
    *,
    by: str,
    since: str | None = None,
    clock: Any = utc_now,
) -> Announcement:
    """Record an announcement of the changes not announced yet; the relay posts it.

    Raises :class:`NoAnnounceChannel` when no channel is configured and
    :class:`NothingToAnnounce` when there is nothing new; neither records anything.
    """
    channels = channels_of(settings)
    if not channels:
        raise NoAnnounceChannel(
            "no announcement channel is configured, so nothing was posted: set "
            "POLICYBOT_SLACK_ANNOUNCE_CHANNEL (a Slack channel id) and/or "
            "POLICYBOT_TEAMS_ANNOUNCE_CONVERSATION (a Teams channel conversation id)"
        )
    now = clock()
    try:
        with store.transaction() as session:
            rows = _unannounced(store, session, since)
            if not rows:
                raise NothingToAnnounce(
                    "nothing to announce: every recorded change"
                    + (f" since {since}" if since else "")
                    + " has been announced already (policybot changes lists them)"
                )
            sections = [
                AnnouncedSection(
                    document=row.title,
                    section=row.section or row.title,
                    change=row.change,
                    new_version=row.new_version,
                    effective=row.effective,
                    link=None
                    if row.change == "removed"
                    else section_link(settings.policy_link_base, row.document, row.section),
                )
                for row in rows[:MAX_LISTED]
            ]
            row = AnnouncementRow(
                created_at=now,
                requested_by=by[:255],
                first_change_id=rows[0].id,
                last_change_id=rows[-1].id,
                change_count=len(rows),
                sections=[section.as_json() for section in sections],
                channels=channels,
                attempts=0,
                due_at=now,
            )
            session.add(row)
            session.flush()
            # Claimed only if still unclaimed: a concurrent announcement that took one of
            # these changes first turns this one into nothing to announce (rolled back).
            claimed = session.execute(
                sa.update(SectionChangeRow)
                .where(
                    SectionChangeRow.id.in_([change.id for change in rows]),
                    SectionChangeRow.announcement_id.is_(None),
                )
                .values(announcement_id=row.id)
                .returning(SectionChangeRow.id)
                .execution_options(synchronize_session=False)
            ).all()
            if len(claimed) != len(rows):
                raise _Raced()
            return _announcement(row)
    except (IntegrityError, _Raced) as exc:  # another admin announced them a moment ago
        raise NothingToAnnounce(
            "nothing to announce: these changes were announced a moment ago"
        ) from exc


def _announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=row.id,
        requested_by=row.requested_by,
        created_at=row.created_at,
        change_count=row.change_count,
        sections=[AnnouncedSection(**item) for item in row.sections],
        channels={str(k): str(v) for k, v in row.channels.items()},
        delivered_to=frozenset(filter(None, (row.delivered_to or "").split(","))),
        delivered_at=row.delivered_at,
        last_error=row.last_error,
    )


def announcements(store: Store, *, limit: int = 20) -> list[Announcement]:
    """The latest announcements, newest first."""
    with store.transaction() as session:
        rows = session.scalars(
            sa.select(AnnouncementRow).order_by(AnnouncementRow.id.desc()).limit(limit)
        ).all()
        return [_announcement(row) for row in rows]
