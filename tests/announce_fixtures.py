"""Recorded section changes for the announcement tests, written as an ingest records them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import Store
from bot.store.schema import SectionChangeRow


def record_changes(
    store: Store,
    *sections: tuple[str, str, str],
    title: str = "AI Policy",
    at: datetime | None = None,
    effective: str = "2027-01-01",
) -> None:
    """One ingest's changes: ``(section, change, new_text)`` for each."""
    with store.transaction() as session:
        for section, change, new_text in sections:
            session.add(
                SectionChangeRow(
                    ingest_id="ingest-1",
                    document="ai-policy.md",
                    title=title,
                    section=section,
                    change=change,
                    old_text=None if change == "added" else "old words",
                    new_text=None if change == "removed" else new_text,
                    old_version="2",
                    new_version="3",
                    effective=effective,
                    recorded_at=at or datetime.now(UTC),
                )
            )


def change_cited_section(store: Store, citation: dict[str, Any]) -> datetime:
    """Record a change, in force a second from now, to the section an answer cited; returns
    when the change was recorded (an answer goes stale after that)."""
    later = datetime.now(UTC) + timedelta(seconds=1)
    record_changes(
        store,
        (citation["section"], "changed", "Never paste customer data into any AI tool."),
        title=citation["document"],
        at=later,
        effective=later.date().isoformat(),
    )
    return later
