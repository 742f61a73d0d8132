"""The activity log: questions per day (for the admin chart) and every ingest run.

A question is recorded as (time, platform, status) only, never its text. Ingest runs keep
who started them, when, and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store import schema


@dataclass(frozen=True)
class DayCount:
    day: date
    questions: int
    not_found: int

    @property
    def not_found_rate(self) -> float:
        return self.not_found / self.questions if self.questions else 0.0


@dataclass(frozen=True)
class IngestRun:
    id: int
    started_at: datetime
    finished_at: datetime | None
    trigger: str
    actor: str | None
    report: dict[str, Any] | None
    error: str | None


class ActivityLog:
    """Question counts and ingest runs in the console's tables."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record_question(self, *, platform: str, status: str, at: datetime | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                schema.console_question_events.insert().values(
                    at=at or datetime.now(UTC), platform=platform[:16], status=status[:16]
                )
            )

    def questions_per_day(self, *, days: int, today: date | None = None) -> list[DayCount]:
        """One entry per day of the last ``days`` days (UTC), oldest first, zeros included."""
        today = today or datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        events = schema.console_question_events
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events.c.at, events.c.status).where(events.c.at >= start)
            ).all()
        counts = {first + timedelta(days=n): [0, 0] for n in range(days)}
        for row in rows:
            day = row.at.date()
            if day in counts:
                counts[day][0] += 1
                counts[day][1] += row.status == "not_found"
        return [DayCount(day, total, missing) for day, (total, missing) in counts.items()]

    def start_ingest(self, *, trigger: str, actor: str | None) -> int:
        """Record a run as started; ``trigger`` names the entrance (up to 16 characters)."""
        runs = schema.console_ingest_runs
        with self.engine.begin() as conn:
            statement = (
                runs.insert()
                .values(started_at=datetime.now(UTC), trigger=trigger[:16], actor=actor)
                .returning(runs.c.id)
            )
            return int(conn.execute(statement).scalar_one())

    def finish_ingest(
        self, run_id: int, *, report: dict[str, Any] | None, error: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                schema.console_ingest_runs.update()
                .where(schema.console_ingest_runs.c.id == run_id)
                .values(finished_at=datetime.now(UTC), report=report, error=error)
            )

    def interrupt_unfinished(self) -> int:
        """Close runs left "running" by a process that died (call only while no process
        holds the ingest lock); returns how many."""
        runs = schema.console_ingest_runs
        with self.engine.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.finished_at.is_(None))
                .values(
                    finished_at=datetime.now(UTC),
                    error="interrupted: the process running it stopped before it finished",
                )
            )
        return int(result.rowcount or 0)

    def ingest_runs(self, *, limit: int = 10) -> list[IngestRun]:
        runs = schema.console_ingest_runs
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
            ).all()
        return [
            IngestRun(
                id=row.id,
                started_at=row.started_at,
                finished_at=row.finished_at,
                trigger=row.trigger,
                actor=row.actor,
                report=row.report,
                error=row.error,
            )
            for row in rows
        ]
