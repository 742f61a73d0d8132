"""Privacy: the audit of erasures (salted hashes, no user ids), the salt, and the one way
past the audit trail's append-only trigger: a ticket's events may be deleted only while the
ticket is listed in ``ticket_purges`` (retention of closed tickets, erasure requests).

Revision ID: 0003_privacy
Revises: 0002_console
Create Date: 2026-02-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_privacy"
down_revision = "0002_console"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")
MESSAGE = "ticket_events is append-only"


def upgrade() -> None:
    op.create_table(
        "privacy_erasures",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(32)),
        sa.Column("removed", Json, nullable=False),
    )
    op.create_index("ix_privacy_erasures_at", "privacy_erasures", ["at"])
    op.create_index("ix_privacy_erasures_subject_hash", "privacy_erasures", ["subject_hash"])
    op.create_table(
        "privacy_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.create_table("ticket_purges", sa.Column("ticket_id", BigId, primary_key=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ticket_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP = 'DELETE' AND EXISTS "
            "(SELECT 1 FROM ticket_purges WHERE ticket_id = OLD.ticket_id) THEN RETURN OLD; "
            f"END IF; RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
    else:
        op.execute("DROP TRIGGER ticket_events_no_delete")
        op.execute(
            "CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events "
            "WHEN NOT EXISTS (SELECT 1 FROM ticket_purges WHERE ticket_id = OLD.ticket_id) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION ticket_events_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
    else:
        op.execute("DROP TRIGGER ticket_events_no_delete")
        op.execute(
            "CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )
    for table in ("ticket_purges", "privacy_secrets", "privacy_erasures"):
        op.drop_table(table)
