"""Small named values every server process shares (what one replica learns, all know).

A replica's data folder is its own; anything learnt at run time that other processes need
(the Teams support channel's exact address, for one) is kept here instead, in the
``shared_values`` table of the one database.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.schema import SharedValueRow


class SharedValues:
    """Get and put text values by name; the last writer wins."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> str | None:
        table = SharedValueRow.__table__
        query = sa.select(table.c["value"]).where(table.c["name"] == name)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def put(self, name: str, value: str) -> None:
        table = SharedValueRow.__table__
        now = datetime.now(UTC)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(table)
            .values(name=name, value=value, updated_at=now)
            .on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "updated_at": now}
            )
        )
        with self.engine.begin() as connection:
            connection.execute(statement)
