"""Hand-off store: tickets with audit trail and comments, answers and ratings, the question
log, delivery dedupe, conversation state, reference counters and the notification outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.Column("reporter_platform", sa.String(32), nullable=False),
        sa.Column("reporter_user_id", sa.String(255), nullable=False),
        sa.Column("reporter_ref", sa.Text),
        sa.Column("reporter_name", sa.String(255)),
        sa.Column("assignee", sa.String(255)),
        when("created_at"),
        when("updated_at"),
        when("ack_due_at", nullable=True),
        when("claimed_at", nullable=True),
        when("resolved_at", nullable=True),
        sa.Column("resolution", sa.Text),
        sa.Column("answer_id", sa.String(32)),
        sa.Column("idempotency_key", sa.String(255)),
        sa.CheckConstraint(
            "kind IN ('incident', 'escalation', 'feedback')", name="ck_tickets_kind"
        ),
        sa.CheckConstraint("state IN ('open', 'claimed', 'resolved')", name="ck_tickets_state"),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')", name="ck_tickets_severity"
        ),
        sa.UniqueConstraint("reference", name="uq_tickets_reference"),
        sa.UniqueConstraint("idempotency_key", name="uq_tickets_idempotency_key"),
    )
    op.create_index("ix_tickets_state_id", "tickets", ["state", "id"])
    op.create_index("ix_tickets_kind_state_id", "tickets", ["kind", "state", "id"])
    op.create_index("ix_tickets_state_ack_due_at", "tickets", ["state", "ack_due_at"])
    op.create_index(
        "ix_tickets_reporter", "tickets", ["reporter_platform", "reporter_user_id", "id"]
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), nullable=False),
        when("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])
    _make_append_only("ticket_events")

    op.create_table(
        "ticket_comments",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), nullable=False),
        when("at"),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_ticket_comments_ticket_id", "ticket_comments", ["ticket_id"])

    op.create_table(
        "answers",
        sa.Column("id", sa.String(32), primary_key=True),
        when("created_at"),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("asker_key", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("citations", Json, nullable=False),
        sa.Column("message_ref", sa.String(255)),
        sa.UniqueConstraint("platform", "message_ref", name="uq_answers_platform_message_ref"),
    )
    op.create_index("ix_answers_created_at", "answers", ["created_at"])
    op.create_index("ix_answers_asker_key_created_at", "answers", ["asker_key", "created_at"])

    op.create_table(
        "answer_ratings",
        sa.Column("id", BigId, primary_key=True),
        when("created_at"),
        sa.Column("answer_id", sa.String(32)),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("citations", Json, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id")),
        sa.Column("idempotency_key", sa.String(255)),
        sa.UniqueConstraint("idempotency_key", name="uq_answer_ratings_idempotency_key"),
    )
    op.create_index("ix_answer_ratings_created_at", "answer_ratings", ["created_at"])

    op.create_table(
        "question_log",
        sa.Column("id", BigId, primary_key=True),
        when("created_at"),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("answer_id", sa.String(32)),
    )
    op.create_index("ix_question_log_created_at", "question_log", ["created_at"])

    op.create_table(
        "processed_events",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        when("claimed_at"),
    )
    op.create_index("ix_processed_events_claimed_at", "processed_events", ["claimed_at"])

    op.create_table(
        "conversations",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("conversation_key", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("data", Json, nullable=False),
        when("updated_at"),
        when("expires_at"),
    )
    op.create_index("ix_conversations_expires_at", "conversations", ["expires_at"])

    op.create_table(
        "reference_counters",
        sa.Column("prefix", sa.String(8), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )

    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True),
        when("created_at"),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(32)),
        sa.Column("text", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        when("due_at"),
        when("delivered_at", nullable=True),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "due_at"])


def _make_append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` at the database (TRUNCATE stays possible)."""
    message = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ticket_events_append_only ON ticket_events")
        op.execute("DROP FUNCTION IF EXISTS ticket_events_append_only()")
    for table in (
        "outbox",
        "reference_counters",
        "conversations",
        "processed_events",
        "question_log",
        "answer_ratings",
        "answers",
        "ticket_comments",
        "ticket_events",
        "tickets",
    ):
        op.drop_table(table)
