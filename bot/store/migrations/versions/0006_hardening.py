"""Shared values (what one process learns, all know), admission counters (rate limits
shared by every process), and the support notifiers a notification already reached (so a
retry after one platform failed does not post the others' cards again), the one ingest
lock of the deployment, and a state and lease on delivery claims (a retry after the
claimant died is answered).

Revision ID: 0006_hardening
Revises: 0005_staff_accounts
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_hardening"
down_revision = "0005_staff_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_values",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "admissions",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "ingest_lock",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("delivered_to", sa.String(255), nullable=True))
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(
            sa.Column("state", sa.String(16), nullable=False, server_default="answered")
        )
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("state")
    op.drop_table("ingest_lock")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("delivered_to")
    op.drop_table("admissions")
    op.drop_table("shared_values")
