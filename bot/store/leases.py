"""Taking one due row of an outbox-like table, so that several processes never work on it at
once: ticket notifications, announcements and stale-answer notes all lease the same way.

A row is due while it is unfinished (its ``finished`` column is NULL) and its ``due_at`` has
passed. Taking it is one conditional UPDATE: it moves ``due_at`` a lease ahead and counts the
attempt, and only the process whose UPDATE matched goes on; a process that dies mid-send
leaves the row to be taken again when the lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

LEASE = timedelta(seconds=60)

Row = TypeVar("Row")


def take_lease(
    session: Session,
    model: type[Row],
    row_id: int,
    *,
    finished: InstrumentedAttribute[Any],
    now: datetime,
    lease: timedelta = LEASE,
) -> Row | None:
    """The row, freshly read after this process leased it; None if another process has it,
    or it is finished or not due."""
    table: Any = model
    won = session.execute(
        sa.update(table)
        .where(table.id == row_id, finished.is_(None), table.due_at <= now)
        .values(due_at=now + lease, attempts=table.attempts + 1)
        .returning(table.id)
        .execution_options(synchronize_session=False)
    ).first()
    if won is None:
        return None
    return session.get(model, row_id, populate_existing=True)
