"""Alembic environment: migrations run on a connection handed over by ``bot.store.migrate``.

Run them with ``policybot db upgrade`` (or let ``open_store`` do it at start-up); there is
no ``alembic.ini``, since the database URL comes from the project's settings.
"""

from __future__ import annotations

from alembic import context

from bot.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `policybot db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
