"""Notes to the askers of answers that went stale, and announcements that cover exactly the
changes they picked.

``answers.reply_to`` keeps where an answer's asker can be reached again (no user id);
``stale_notes`` records each note an admin sent, by whom and when, and its delivery;
``section_changes.announcement_id`` says which announcement covered a change, so announcing
with ``--since`` leaves older changes announceable. Changes inside an earlier announcement's
id range are marked as covered by it.

Revision ID: 0009_stale_notes
Revises: 0008_announcements
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_stale_notes"
down_revision = "0008_announcements"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("reply_to", sa.Text, nullable=True))
    with op.batch_alter_table("section_changes") as batch:
        batch.add_column(sa.Column("announcement_id", BigId, nullable=True))
    op.execute(
        "UPDATE section_changes SET announcement_id = (SELECT MIN(a.id) FROM announcements a "
        "WHERE section_changes.id BETWEEN a.first_change_id AND a.last_change_id)"
    )
    op.create_table(
        "stale_notes",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("answer_id", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", Json, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("answer_id", name="uq_stale_notes_answer_id"),
    )
    op.create_index("ix_stale_notes_pending", "stale_notes", ["sent_at", "due_at"])


def downgrade() -> None:
    op.drop_table("stale_notes")
    with op.batch_alter_table("section_changes") as batch:
        batch.drop_column("announcement_id")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("reply_to")
