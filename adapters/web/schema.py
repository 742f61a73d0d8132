"""The console's tables: accounts, sign-in sessions, login failures, question and ingest logs.

None of them holds what an employee typed: questions are counted (day, platform, status),
never stored here; sessions and login failures keep hashes, not tokens or addresses.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

login_failures = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

ingest_runs = sa.Table(
    "console_ingest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64)),
    sa.Column("report", sa.JSON),
    sa.Column("error", sa.Text),
)


def connect(database_url: str, *, data_dir: Path | None = None) -> sa.Engine:
    """An engine on the console's database with its tables in place."""
    if database_url.startswith("sqlite") and data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    return engine
