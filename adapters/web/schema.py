"""The console's tables: accounts, sign-in sessions, login failures, question and ingest logs.

They live in the hand-off store's database and are created by its Alembic migration
``0002_console`` (``bot/store/migrations/versions``); these definitions mirror it for queries.
None of them holds what an employee typed: questions are counted (time, platform,
status), never stored here; sessions and login failures keep hashes, not tokens or
addresses.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.schema import UTCDateTime

metadata = sa.MetaData()
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("disabled_at", UTCDateTime()),
    sa.Column("sso_subject", sa.String(64), unique=True),
)

sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", BigId, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

login_failures = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
)

secrets = sa.Table(
    "console_secrets",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

question_events = sa.Table(
    "console_question_events",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

ingest_runs = sa.Table(
    "console_ingest_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64)),
    sa.Column("report", sa.JSON),
    sa.Column("error", sa.Text),
)

account_events = sa.Table(
    "console_account_events",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(255)),
)
