"""Web console: local accounts, sign-in sessions, login failures, its CSRF secret, the
per-question log of the admin chart (no text) and the ingest runs started from the console.

Revision ID: 0002_console
Revises: 0001
Create Date: 2026-01-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_console"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        when("created_at"),
        sa.UniqueConstraint("name", name="uq_console_users_name"),
        sa.CheckConstraint(
            "role IN ('employee', 'support', 'admin')", name="ck_console_users_role"
        ),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            BigId,
            sa.ForeignKey("console_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        when("created_at"),
        when("expires_at"),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_login_failures",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        when("at"),
    )
    op.create_index(
        "ix_console_login_failures_key_hash_at", "console_login_failures", ["key_hash", "at"]
    )
    op.create_table(
        "console_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.create_table(
        "console_question_events",
        sa.Column("id", BigId, primary_key=True),
        when("at"),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_console_question_events_at", "console_question_events", ["at"])
    op.create_table(
        "console_ingest_runs",
        sa.Column("id", BigId, primary_key=True),
        when("started_at"),
        when("finished_at", nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("report", sa.JSON),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    for table in (
        "console_ingest_runs",
        "console_question_events",
        "console_secrets",
        "console_login_failures",
        "console_sessions",
        "console_users",
    ):
        op.drop_table(table)
