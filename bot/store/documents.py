"""The versioned document store: uploaded policies, every version of every document, and the
sections each ingest changed, in the shared database.

An upload is stored here (not on one replica's disk), so every process and the ingest job
read it, it survives a restart, and an upload of the same name adds a version beside the
previous one. Each ingest that changes a document records a version of it (its declared
``version``, else the store's number; its ``effective`` date, else the ingest day) and the
sections it added, changed or removed. The ingest lock serialises ingests, so changes are
recorded once however many processes ingest; an ingest that changes nothing writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.errors import PolicyBotError
from bot.store import Store
from bot.store.schema import DocumentVersionRow, PolicyDocumentRow, SectionChangeRow
from knowledge.changes import SectionChange

FOLDER, UPLOAD = "folder", "upload"
DRAFT, PUBLISHED, DISABLED, REMOVED_STATE = "draft", "published", "disabled", "removed"
STATES = (DRAFT, PUBLISHED, DISABLED, REMOVED_STATE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class UnknownDocument(PolicyBotError):
    """No document of that name (or id) is in the store."""


@dataclass(frozen=True)
class DocumentVersion:
    document: str
    number: int
    declared: str | None
    effective: str | None
    content_hash: str
    uploaded_by: str | None
    created_at: datetime
    ingested_at: datetime | None
    size: int
    draft: bool = False

    @property
    def label(self) -> str:
        return self.declared or str(self.number)


@dataclass(frozen=True)
class StoredDocument:
    name: str
    title: str | None
    origin: str
    state: str
    indexed: bool
    latest: DocumentVersion | None


@dataclass(frozen=True)
class LoadedSource:
    """What an ingest read of one file: its name in the store, bytes, and front matter."""

    name: str
    data: bytes
    title: str
    declared: str | None
    effective: str | None
    origin: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def effective_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` from a front matter ``effective`` value, or None if it has no date."""
    if value and _DATE.match(value.strip()):
        return value.strip()[:10]
    return None


def _version(row: DocumentVersionRow, name: str) -> DocumentVersion:
    return DocumentVersion(
        document=name,
        number=row.number,
        declared=row.declared,
        effective=row.effective,
        content_hash=row.content_hash,
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
        ingested_at=row.ingested_at,
        size=len(row.content),
        draft=bool(row.draft),
    )


class DocumentStore:
    """Documents, their versions and the recorded section changes, over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- uploads ---------------------------------------------------------------------------

    def add_upload(
        self, name: str, data: bytes, *, uploaded_by: str | None, draft: bool = False
    ) -> DocumentVersion:
        """Store ``data`` as the newest version of document ``name`` (created if new).

        The previous versions stay. Uploading the bytes of the newest version again adds
        nothing (that version is returned). A ``draft`` waits for :meth:`publish`; until
        then the ingest reads the document as it was (a new document not at all).
        """
        now = datetime.now(UTC)
        digest = content_hash(data)
        with self.store.transaction() as session:
            document = session.scalar(
                sa.select(PolicyDocumentRow).where(PolicyDocumentRow.name == name)
            )
            if document is None:
                document = PolicyDocumentRow(
                    name=name,
                    origin=UPLOAD,
                    state=DRAFT if draft else PUBLISHED,
                    indexed=False,
                    created_at=now,
                    updated_at=now,
                )
                session.add(document)
                session.flush()
            if not draft:
                document.origin, document.state = UPLOAD, PUBLISHED
            document.updated_at = now
            latest = self._latest(session, document.id)
            if latest is not None and latest.content_hash == digest:
                latest.draft = latest.draft and draft
                return _version(latest, name)
            row = DocumentVersionRow(
                document_id=document.id,
                number=(latest.number + 1) if latest else 1,
                content=data,
                content_hash=digest,
                uploaded_by=uploaded_by,
                draft=draft,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _version(row, name)

    def publish(self, name: str) -> None:
        """Confirm the newest (draft) version: the next ingest reads it."""
        with self.store.transaction() as session:
            document = self._document(session, name)
            latest = self._latest(session, document.id)
            if latest is not None:
                latest.draft = False
            document.origin, document.state = UPLOAD, PUBLISHED
            document.updated_at = datetime.now(UTC)

    def discard_draft(self, name: str) -> None:
        """Drop the unconfirmed versions of ``name`` (and the document, if that was all)."""
        with self.store.transaction() as session:
            document = self._document(session, name)
            session.execute(
                sa.delete(DocumentVersionRow).where(
                    DocumentVersionRow.document_id == document.id,
                    DocumentVersionRow.draft.is_(True),
                )
            )
            if self._latest(session, document.id) is None:
                session.delete(document)

    def set_state(self, name: str, state: str, *, folder_file: bool = False) -> None:
        """Publish, disable or remove a document; the next ingest brings the index in line.
        ``folder_file``: ``name`` is a source folder's file, recorded here if not yet."""
        if state not in STATES:
            raise ValueError(f"unknown document state {state!r}")
        with self.store.transaction() as session:
            document = session.scalar(
                sa.select(PolicyDocumentRow).where(PolicyDocumentRow.name == name)
            )
            now = datetime.now(UTC)
            if document is None and not folder_file:
                raise UnknownDocument(f"no document named {name!r} in the store")
            if document is None:  # a source folder's file no ingest has recorded yet
                document = PolicyDocumentRow(
                    name=name,
                    origin=FOLDER,
                    state=state,
                    indexed=True,
                    created_at=now,
                    updated_at=now,
                )
                session.add(document)
            document.state, document.updated_at = state, now

    def write_published(self, folder: Path) -> list[str]:
        """Write the newest version of every published upload into ``folder``; the names.

        The ingest reads this folder before the configured ones, so an upload stands in
        for a folder file of the same name.
        """
        names = []
        with self.store.transaction() as session:
            documents = session.scalars(
                sa.select(PolicyDocumentRow).where(
                    PolicyDocumentRow.origin == UPLOAD, PolicyDocumentRow.state == PUBLISHED
                )
            ).all()
            for document in documents:
                latest = session.scalar(
                    sa.select(DocumentVersionRow)
                    .where(
                        DocumentVersionRow.document_id == document.id,
                        DocumentVersionRow.draft.is_(False),
                    )
                    .order_by(DocumentVersionRow.number.desc())
                    .limit(1)
                )
                if latest is None:
                    continue
                target = folder / document.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(latest.content)
                names.append(document.name)
        return names

    def content(self, name: str, number: int | None = None) -> bytes:
        """The bytes of version ``number`` (default: the newest) of ``name``."""
        with self.store.transaction() as session:
            document = self._document(session, name)
            query = sa.select(DocumentVersionRow).where(
                DocumentVersionRow.document_id == document.id
            )
            if number is None:
                row = self._latest(session, document.id)
            else:
                row = session.scalar(query.where(DocumentVersionRow.number == number))
            if row is None:
                raise UnknownDocument(f"{name!r} has no version {number}")
            return bytes(row.content)

    # -- effective dates -------------------------------------------------------------------

    def in_force(self, name: str, today: str, *, other_than: str) -> bytes | None:
        """The bytes of the newest ingested version of ``name`` in force on ``today`` whose
        hash is not ``other_than`` (the upcoming version's), or None if none is."""
        with self.store.transaction() as session:
            document = session.scalar(
                sa.select(PolicyDocumentRow).where(PolicyDocumentRow.name == name)
            )
            if document is None:
                return None
            row = session.scalar(
                sa.select(DocumentVersionRow)
                .where(
                    DocumentVersionRow.document_id == document.id,
                    DocumentVersionRow.ingested_at.is_not(None),
                    DocumentVersionRow.effective <= today,
                    DocumentVersionRow.content_hash != other_than,
                )
                .order_by(DocumentVersionRow.number.desc())
                .limit(1)
            )
            return bytes(row.content) if row is not None else None

    def hidden(self) -> set[str]:
        """Documents an admin disabled or removed, or never published: the index leaves
        them out (their history stays)."""
        with self.store.engine.connect() as connection:
            table = PolicyDocumentRow.__table__
            return set(
                connection.execute(
                    sa.select(table.c["name"]).where(table.c["state"] != PUBLISHED)
                ).scalars()
            )

    def due(self, today: str) -> list[str]:
        """Documents with a stored version whose effective date has come (the next ingest
        switches the index to it)."""
        with self.store.engine.connect() as connection:
            table = PolicyDocumentRow.__table__
            return list(
                connection.execute(
                    sa.select(table.c["name"]).where(table.c["upcoming"] <= today)
                ).scalars()
            )

    # -- reading ---------------------------------------------------------------------------

    def documents(self) -> list[StoredDocument]:
        with self.store.transaction() as session:
            rows = session.scalars(sa.select(PolicyDocumentRow).order_by(PolicyDocumentRow.name))
            return [
                StoredDocument(
                    name=row.name,
                    title=row.title,
                    origin=row.origin,
                    state=row.state,
                    indexed=row.indexed,
                    latest=(
                        _version(latest, row.name)
                        if (latest := self._latest(session, row.id))
                        else None
                    ),
                )
                for row in rows.all()
            ]

    def versions(self, name: str) -> list[DocumentVersion]:
        """Every version of ``name``, newest first."""
        with self.store.transaction() as session:
            document = self._document(session, name)
            rows = session.scalars(
                sa.select(DocumentVersionRow)
                .where(DocumentVersionRow.document_id == document.id)
                .order_by(DocumentVersionRow.number.desc())
            )
            return [_version(row, name) for row in rows.all()]

    def changes(
        self,
        *,
        since: str | None = None,
        document: str | None = None,
        or_recorded: bool = False,
        limit: int = 1000,
    ) -> list[SectionChange]:
        """Recorded section changes, oldest first.

        ``since`` is a date (``YYYY-MM-DD``: changes taking effect on or after it; a change
        takes effect on its version's ``effective`` date, else the day it was ingested) or a
        version label (changes recorded after the ingest that brought that version).
        ``document`` matches a document's name or title (case-insensitive part). With
        ``or_recorded``, a date also keeps the changes recorded on or after it.
        """
        table = SectionChangeRow
        query = sa.select(table).order_by(table.id)
        if document:
            needle = f"%{document.lower()}%"
            query = query.where(
                sa.or_(
                    sa.func.lower(table.document).like(needle),
                    sa.func.lower(table.title).like(needle),
                )
            )
        with self.store.transaction() as session:
            if since:
                if _DATE.match(since):
                    condition = table.effective >= since[:10]
                    if or_recorded:
                        day = date.fromisoformat(since[:10])
                        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                        condition = sa.or_(condition, table.recorded_at >= start)
                    query = query.where(condition)
                else:
                    after = self._ingested_at(session, since, document)
                    query = query.where(table.recorded_at > after)
            rows = session.scalars(query.limit(limit)).all()
            return [
                SectionChange(
                    path=row.document,
                    document=row.title,
                    section=row.section,
                    change=row.change,
                    old_text=row.old_text,
                    new_text=row.new_text,
                    old_version=row.old_version,
                    new_version=row.new_version,
                    effective=row.effective,
                    recorded_at=row.recorded_at.isoformat(timespec="seconds"),
                )
                for row in rows
            ]

    def _ingested_at(self, session: Any, label: str, document: str | None) -> datetime:
        query = (
            sa.select(sa.func.min(DocumentVersionRow.ingested_at))
            .join(PolicyDocumentRow, PolicyDocumentRow.id == DocumentVersionRow.document_id)
            .where(
                sa.or_(
                    DocumentVersionRow.declared == label,
                    sa.cast(DocumentVersionRow.number, sa.String) == label,
                )
            )
        )
        if document:
            needle = f"%{document.lower()}%"
            query = query.where(
                sa.or_(
                    sa.func.lower(PolicyDocumentRow.name).like(needle),
                    sa.func.lower(PolicyDocumentRow.title).like(needle),
                )
            )
        found = session.scalar(query)
        if found is None:
            raise UnknownDocument(
                f"no ingested version {label!r}"
                + (f" of a document matching {document!r}" if document else "")
                + "; give --since a date (YYYY-MM-DD) or a version `policybot changes` lists"
            )
        return found  # type: ignore[no-any-return]

    # -- recording an ingest ---------------------------------------------------------------

    def record_ingest(
        self,
        loaded: Sequence[LoadedSource],
        changes: Sequence[SectionChange],
        *,
        failed: Iterable[str] = (),
        upcoming: dict[str, str] | None = None,
        today: date | None = None,
    ) -> list[SectionChange]:
        """Record what an ingest read and changed; returns ``changes`` with their versions
        and effective dates filled in. Writes nothing when nothing differs from the store.

        Only a new version brings changes: those of a version recorded before (announced
        ahead of its effective date, now taking over) are not recorded twice. ``upcoming``
        maps documents whose newest version is not yet in force to its effective date.
        """
        now = datetime.now(UTC)
        today_text = (today or now.date()).isoformat()
        failed = set(failed)
        labels: dict[str, tuple[str | None, str | None, str | None]] = {}
        upcoming = upcoming or {}
        unchanged: set[str] = set()
        with self.store.transaction() as session:
            by_name = {row.name: row for row in session.scalars(sa.select(PolicyDocumentRow)).all()}
            for source in loaded:
                document = by_name.get(source.name)
                if document is None:
                    document = PolicyDocumentRow(
                        name=source.name,
                        title=source.title,
                        origin=source.origin,
                        state=PUBLISHED,
                        indexed=True,
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(document)
                    session.flush()
                    by_name[source.name] = document
                else:
                    if document.title != source.title:
                        document.title = source.title
                    if not document.indexed:
                        document.indexed = True
                    elif self._unchanged(session, document, source):
                        unchanged.add(source.name)
                if document.upcoming != upcoming.get(source.name):
                    document.upcoming = upcoming.get(source.name)
                labels[source.name] = self._record_version(
                    session, document, source, now, today_text
                )
            loaded_names = {source.name for source in loaded}
            for name, document in by_name.items():
                if document.upcoming and name not in loaded_names and name not in failed:
                    document.upcoming = None  # gone before its date: nothing to switch to
                if document.indexed and name not in loaded_names and name not in failed:
                    document.indexed = False
                    document.updated_at = now
                    latest = self._latest(session, document.id)
                    labels.setdefault(
                        name,
                        (latest.declared or str(latest.number) if latest else None, None, None),
                    )
            recorded = []
            ingest_id = uuid.uuid4().hex
            for change in changes:
                if change.path in unchanged:
                    continue
                old_label, new_label, effective = labels.get(change.path, (None, None, None))
                filled = change.labelled(
                    old_version=old_label or change.old_version,
                    new_version=new_label or change.new_version,
                    effective=effective or today_text,
                    recorded_at=now.isoformat(timespec="seconds"),
                )
                recorded.append(filled)
                session.add(
                    SectionChangeRow(
                        ingest_id=ingest_id,
                        document=filled.path,
                        title=filled.document[:500],
                        section=filled.section,
                        change=filled.change,
                        old_text=filled.old_text,
                        new_text=filled.new_text,
                        old_version=filled.old_version,
                        new_version=filled.new_version,
                        effective=filled.effective,
                        recorded_at=now,
                    )
                )
        return recorded

    def _record_version(
        self,
        session: Any,
        document: PolicyDocumentRow,
        source: LoadedSource,
        now: datetime,
        today: str,
    ) -> tuple[str | None, str | None, str | None]:
        """(label before, label now, effective now) of ``document`` after this ingest."""
        digest = content_hash(source.data)
        effective = effective_date(source.effective)
        latest_ingested = session.scalar(
            sa.select(DocumentVersionRow)
            .where(
                DocumentVersionRow.document_id == document.id,
                DocumentVersionRow.ingested_at.is_not(None),
            )
            .order_by(DocumentVersionRow.number.desc())
            .limit(1)
        )
        before = (
            (latest_ingested.declared or str(latest_ingested.number)) if latest_ingested else None
        )
        if latest_ingested is not None and latest_ingested.content_hash == digest:
            return before, before, latest_ingested.effective
        waiting = session.scalar(  # an upload this ingest reads for the first time
            sa.select(DocumentVersionRow)
            .where(
                DocumentVersionRow.document_id == document.id,
                DocumentVersionRow.content_hash == digest,
                DocumentVersionRow.ingested_at.is_(None),
                DocumentVersionRow.draft.is_(False),
            )
            .order_by(DocumentVersionRow.number.desc())
            .limit(1)
        )
        if waiting is not None:
            row = waiting
        else:
            latest = self._latest(session, document.id)
            row = DocumentVersionRow(
                document_id=document.id,
                number=(latest.number + 1) if latest else 1,
                content=source.data,
                content_hash=digest,
                uploaded_by=None,
                draft=False,
                created_at=now,
            )
            session.add(row)
        row.declared = (source.declared or None) and source.declared[:64]
        row.effective = effective or today
        row.ingested_at = now
        document.updated_at = now
        session.flush()
        return before, row.declared or str(row.number), row.effective

    @staticmethod
    def _unchanged(session: Any, document: PolicyDocumentRow, source: LoadedSource) -> bool:
        """Is ``source`` the newest version this store already ingested?"""
        latest = session.scalar(
            sa.select(DocumentVersionRow.content_hash)
            .where(
                DocumentVersionRow.document_id == document.id,
                DocumentVersionRow.ingested_at.is_not(None),
            )
            .order_by(DocumentVersionRow.number.desc())
            .limit(1)
        )
        return latest == content_hash(source.data)

    @staticmethod
    def _latest(session: Any, document_id: int) -> DocumentVersionRow | None:
        return session.scalar(  # type: ignore[no-any-return]
            sa.select(DocumentVersionRow)
            .where(DocumentVersionRow.document_id == document_id)
            .order_by(DocumentVersionRow.number.desc())
            .limit(1)
        )

    @staticmethod
    def _document(session: Any, name: str) -> PolicyDocumentRow:
        document = session.scalar(
            sa.select(PolicyDocumentRow).where(PolicyDocumentRow.name == name)
        )
        if document is None:
            raise UnknownDocument(f"no document named {name!r} in the store")
        return document  # type: ignore[no-any-return]
