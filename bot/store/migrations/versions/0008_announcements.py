"""Announcements of policy changes: which recorded section changes an admin posted to the
announcement channels, by whom and when, and their delivery through the outbox relay.

Revision ID: 0008_announcements
Revises: 0007_documents
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_announcements"
down_revision = "0007_documents"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("first_change_id", BigId, nullable=False),
        sa.Column("last_change_id", BigId, nullable=False),
        sa.Column("change_count", sa.Integer, nullable=False),
        sa.Column("sections", Json, nullable=False),
        sa.Column("channels", Json, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("last_change_id", name="uq_announcements_last_change_id"),
    )
    op.create_index("ix_announcements_pending", "announcements", ["delivered_at", "due_at"])


def downgrade() -> None:
    op.drop_table("announcements")
