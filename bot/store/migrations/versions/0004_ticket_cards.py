"""Which platform message shows each ticket's card, shared by every server process.

A ticket changed through one process (or the CLI) must update the card another process
posted, not post a second one.

Revision ID: 0004_ticket_cards
Revises: 0003_privacy
Create Date: 2026-02-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ticket_cards"
down_revision = "0003_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_cards",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("card_ref", sa.String(512), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_cards")
