"""One versioned document store: uploaded policies live in the shared database (every
process and the ingest job read them, a same-name upload keeps the previous version), each
ingest that changes a document records a version of it and the sections it added, changed
or removed.

Revision ID: 0007_documents
Revises: 0006_hardening
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_documents"
down_revision = "0006_hardening"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("indexed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("upcoming", sa.String(10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_documents_name"),
    )
    op.create_table(
        "document_versions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "document_id",
            BigId,
            sa.ForeignKey(
                "documents.id",
                ondelete="CASCADE",
                name="fk_document_versions_document_id_documents",
            ),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("declared", sa.String(64), nullable=True),
        sa.Column("effective", sa.String(10), nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(255), nullable=True),
        sa.Column("draft", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint(
            "document_id", "number", name="uq_document_versions_document_id_number"
        ),
    )
    op.create_index("ix_document_versions_document_id", "document_versions", ["document_id"])
    op.create_table(
        "section_changes",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("ingest_id", sa.String(32), nullable=False),
        sa.Column("document", sa.String(255), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("old_text", sa.Text, nullable=True),
        sa.Column("new_text", sa.Text, nullable=True),
        sa.Column("old_version", sa.String(64), nullable=True),
        sa.Column("new_version", sa.String(64), nullable=True),
        sa.Column("effective", sa.String(10), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_section_changes_ingest_id", "section_changes", ["ingest_id"])
    op.create_index("ix_section_changes_document", "section_changes", ["document"])
    op.create_index("ix_section_changes_recorded_at", "section_changes", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("section_changes")
    op.drop_table("document_versions")
    op.drop_table("documents")
