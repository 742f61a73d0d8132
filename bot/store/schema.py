"""The hand-off store's tables (SQLAlchemy 2.x declarative models).

The schema itself is created and changed only by the numbered Alembic migrations in
``bot/store/migrations/versions``; these models mirror them for queries. Every free-text column
holds text that already passed the privacy guard (``bot.handoff.submissions.redact_text``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
        list[dict[str, Any]]: Json,
    }


class TicketRow(Base):
    """An incident, an escalated question or a piece of feedback in the support queue."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    severity: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]]
    reporter_platform: Mapped[str] = mapped_column(sa.String(32))
    reporter_user_id: Mapped[str] = mapped_column(sa.String(255))
    reporter_ref: Mapped[str | None] = mapped_column(sa.Text)
    reporter_name: Mapped[str | None] = mapped_column(sa.String(255))
    assignee: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ack_due_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    answer_id: Mapped[str | None] = mapped_column(sa.String(32))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)

    __table_args__ = (
        sa.CheckConstraint("kind IN ('incident', 'escalation', 'feedback')", name="kind"),
        sa.CheckConstraint("state IN ('open', 'claimed', 'resolved')", name="state"),
        sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        sa.Index("ix_tickets_state_id", "state", "id"),
        sa.Index("ix_tickets_kind_state_id", "kind", "state", "id"),
        sa.Index("ix_tickets_state_ack_due_at", "state", "ack_due_at"),
        sa.Index("ix_tickets_reporter", "reporter_platform", "reporter_user_id", "id"),
    )


class TicketEventRow(Base):
    """One state change or edit of a ticket; the table is append-only (triggers refuse
    UPDATE and DELETE), so the audit trail cannot be rewritten through the application."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str | None] = mapped_column(sa.String(16))
    detail: Mapped[str | None] = mapped_column(sa.Text)


class CommentRow(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(sa.String(255))
    text: Mapped[str] = mapped_column(sa.Text)


class AnswerRow(Base):
    """An answer the bot gave, kept so feedback and "ask a person" can refer to it by id.

    It holds no identity: ``asker_key`` is a hash of platform, conversation and user, enough
    to find "the last answer in this conversation" and nothing more. ``reply_to`` is where a
    note about the answer can reach the asker again (the Slack channel and thread, a Teams
    conversation reference without the user), kept only for answers that cited something and
    deleted with the row (see :mod:`bot.handoff.stale_notes`); None where there is no way
    back (the web console, the CLI).
    """

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    asker_key: Mapped[str] = mapped_column(sa.String(64))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    citations: Mapped[list[dict[str, Any]]]
    message_ref: Mapped[str | None] = mapped_column(sa.String(255))
    reply_to: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.UniqueConstraint("platform", "message_ref"),
        sa.Index("ix_answers_asker_key_created_at", "asker_key", "created_at"),
    )


class RatingRow(Base):
    """Helpful / not helpful on one answer, with the answer as it was given."""

    __tablename__ = "answer_ratings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    answer_id: Mapped[str | None] = mapped_column(sa.String(32))
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(sa.Text)
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    citations: Mapped[list[dict[str, Any]]]
    platform: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[str] = mapped_column(sa.String(255))
    ticket_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)


class QuestionLogRow(Base):
    """A question the bot could not answer, or whose answer was rated unhelpful."""

    __tablename__ = "question_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(sa.String(16))
    question: Mapped[str] = mapped_column(sa.Text)
    platform: Mapped[str] = mapped_column(sa.String(32))
    answer_id: Mapped[str | None] = mapped_column(sa.String(32))


class TicketCardRow(Base):
    """The platform message that shows a ticket's card (a ``CardAddress``, JSON-encoded)."""

    __tablename__ = "ticket_cards"

    platform: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    card_ref: Mapped[str] = mapped_column(sa.String(512))
    updated_at: Mapped[datetime]


class ProcessedEventRow(Base):
    """Platform deliveries already handled; the primary key is the dedupe."""

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(index=True)
    # "claimed" until the adapter has answered ("answered"); a claim whose lease ran out
    # belongs to a process that died, and a retry may take it.
    state: Mapped[str] = mapped_column(sa.String(16), default="answered")
    lease_until: Mapped[datetime | None]


class ConversationRow(Base):
    """An unfinished multi-turn flow (an incident report being collected)."""

    __tablename__ = "conversations"

    platform: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    conversation_key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    flow: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ReferenceCounterRow(Base):
    """The last number handed out per reference prefix and year (INC-2026-0042 -> 42)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]


class OutboxRow(Base):
    """A notification decided in a ticket's transaction and delivered after it commits.

    ``target`` is ``reporter`` (delivered by the reporter's platform) or ``support``
    (delivered to every support-channel notifier). ``due_at`` is both the retry time and
    the lease: a process takes a row by moving ``due_at`` forward in a conditional UPDATE.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime]
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    event: Mapped[str] = mapped_column(sa.String(32))
    target: Mapped[str] = mapped_column(sa.String(16))
    platform: Mapped[str | None] = mapped_column(sa.String(32))
    text: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Support notifiers (platforms, comma-separated) already reached by this notification.
    delivered_to: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (sa.Index("ix_outbox_pending", "delivered_at", "due_at"),)


class ErasureRow(Base):
    """The audit fact that an employee's data was erased (DPP6 requests), and nothing else:
    ``subject_hash`` is a salted SHA-256 of the user id, never the id itself."""

    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    subject_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    platform: Mapped[str | None] = mapped_column(sa.String(32))
    removed: Mapped[dict[str, Any]]


class PrivacySecretRow(Base):
    """The install's salt for :class:`ErasureRow` hashes (created on first use)."""

    __tablename__ = "privacy_secrets"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(128))


class TicketPurgeRow(Base):
    """Tickets being deleted in the current transaction (retention or erasure): the only
    ``ticket_events`` rows the append-only trigger lets go. Empty outside those transactions."""

    __tablename__ = "ticket_purges"

    ticket_id: Mapped[int] = mapped_column(BigId, primary_key=True)


class SharedValueRow(Base):
    """A named value every process shares (e.g. the Teams support channel's reference)."""

    __tablename__ = "shared_values"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class AdmissionRow(Base):
    """How many times a key (a hashed client and action) was admitted in a time window."""

    __tablename__ = "admissions"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)


class IngestLockRow(Base):
    """The one ingest lock of the deployment (``bot.store.ingest_lock``)."""

    __tablename__ = "ingest_lock"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(64))
    owner: Mapped[str] = mapped_column(sa.String(255))
    started_at: Mapped[datetime]
    renewed_at: Mapped[datetime]


# The web console's tables (migrations 0002_console and 0005_staff_accounts): accounts,
# sign-in sessions, login failures, its CSRF secret, the per-question log of the admin chart
# and the ingest runs. None holds what an employee typed: questions are counted (time,
# platform, status), never stored; sessions and login failures keep hashes, not tokens or
# addresses. Plain tables (queried with Core statements), in the same metadata as the rest,
# so Alembic's autogenerate and the tests' table lists know them.

console_users = sa.Table(
    "console_users",
    Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("disabled_at", UTCDateTime()),
    sa.Column("sso_subject", sa.String(64)),
    sa.CheckConstraint("role IN ('employee', 'support', 'admin')", name="role"),
    sa.Index("ux_console_users_sso_subject", "sso_subject", unique=True),
)

console_sessions = sa.Table(
    "console_sessions",
    Base.metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", BigId, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

console_login_failures = sa.Table(
    "console_login_failures",
    Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_console_login_failures_key_hash_at", "key_hash", "at"),
)

console_secrets = sa.Table(
    "console_secrets",
    Base.metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)

console_question_events = sa.Table(
    "console_question_events",
    Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

console_ingest_runs = sa.Table(
    "console_ingest_runs",
    Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64)),
    sa.Column("report", sa.JSON),
    sa.Column("error", sa.Text),
)

console_account_events = sa.Table(
    "console_account_events",
    Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(255)),
)


class PolicyDocumentRow(Base):
    """A policy document by name (its path below a source folder, or the uploaded file name).

    ``origin`` is ``folder`` (read from a configured source folder) or ``upload`` (its bytes
    live in ``document_versions``). ``state``: draft (uploaded, not yet published),
    published, disabled or removed (both leave the index at the next ingest, history kept).
    ``indexed`` says whether the last ingest put its sections in the index.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    title: Mapped[str | None] = mapped_column(sa.String(500))
    origin: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    indexed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # The effective date of a stored version not yet in force (the index holds the one in
    # force); the first ingest on or after it switches to the new version.
    upcoming: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DocumentVersionRow(Base):
    """One version of a document: its bytes, their hash, and when it applies.

    ``number`` is assigned by the store (1, 2, ... per document); ``declared`` is the
    ``version`` of its front matter, if any. ``effective`` is the front matter's date, else
    the day it was ingested. ``ingested_at`` stays empty until an ingest has read it.
    """

    __tablename__ = "document_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(sa.Integer)
    declared: Mapped[str | None] = mapped_column(sa.String(64))
    effective: Mapped[str | None] = mapped_column(sa.String(10))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str | None] = mapped_column(sa.String(255))
    # An upload awaiting the admin's confirmation: not read by any ingest until published.
    draft: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]
    ingested_at: Mapped[datetime | None]


class SectionChangeRow(Base):
    """A section added, changed or removed by one ingest, with its old and new text."""

    __tablename__ = "section_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ingest_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    document: Mapped[str] = mapped_column(sa.String(255), index=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    section: Mapped[str] = mapped_column(sa.Text)
    change: Mapped[str] = mapped_column(sa.String(16))
    old_text: Mapped[str | None] = mapped_column(sa.Text)
    new_text: Mapped[str | None] = mapped_column(sa.Text)
    old_version: Mapped[str | None] = mapped_column(sa.String(64))
    new_version: Mapped[str | None] = mapped_column(sa.String(64))
    effective: Mapped[str | None] = mapped_column(sa.String(10))
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    # The announcement that covered this change; None until one does.
    announcement_id: Mapped[int | None] = mapped_column(BigId)


class AnnouncementRow(Base):
    """A summary of recorded section changes an admin chose to post to the announcement
    channels: who asked, when, which changes (``first_change_id``..``last_change_id``), and
    its delivery, leased and retried by the outbox relay like a ticket notification.

    ``channels`` maps a platform to the channel or conversation it goes to (as configured
    when the admin asked); ``delivered_to`` lists the platforms already reached. The unique
    last change id keeps a double click from posting the same changes twice.
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(sa.String(255))
    first_change_id: Mapped[int] = mapped_column(BigId)
    last_change_id: Mapped[int] = mapped_column(BigId, unique=True)
    change_count: Mapped[int]
    sections: Mapped[list[dict[str, Any]]]
    channels: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    delivered_to: Mapped[str | None] = mapped_column(sa.String(255))
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_announcements_pending", "delivered_at", "due_at"),)


class StaleNoteRow(Base):
    """A note to the asker of an answer that went stale, sent on an admin's action: who asked
    for it and when, the note as composed then (the stored question answered again from the
    index in force), and its delivery through the outbox relay, retried with backoff.

    One row per answer (``answer_id`` is unique): an asker hears about a stale answer once.
    The row goes when its answer does (retention, erasure).
    """

    __tablename__ = "stale_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    answer_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    platform: Mapped[str] = mapped_column(sa.String(32))
    requested_by: Mapped[str] = mapped_column(sa.String(255))
    requested_at: Mapped[datetime]
    note: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_stale_notes_pending", "sent_at", "due_at"),)
