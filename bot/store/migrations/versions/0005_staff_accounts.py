"""Staff accounts managed in the console: disabling an account, an audit trail of every
account change, and the link of an account to its single sign-on identity.

``disabled_at`` set means the account signs in nowhere and its sessions are gone.
``sso_subject`` is the SHA-256 of the identity provider's issuer and subject, so a person
who renames their e-mail address keeps their account; it is null for local-only accounts.

Revision ID: 0005_staff_accounts
Revises: 0004_ticket_cards
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_staff_accounts"
down_revision = "0004_ticket_cards"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("console_users", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.add_column("console_users", sa.Column("sso_subject", sa.String(64)))
    op.create_index("ux_console_users_sso_subject", "console_users", ["sso_subject"], unique=True)
    op.create_table(
        "console_account_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(255)),
    )
    op.create_index("ix_console_account_events_at", "console_account_events", ["at"])


def downgrade() -> None:
    op.drop_table("console_account_events")
    op.drop_index("ux_console_users_sso_subject", table_name="console_users")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_column("sso_subject")
        batch.drop_column("disabled_at")
