"""Collecting an AI incident report in conversation, one question at a time.

:data:`bot.handoff.incident_form.INCIDENT_FORM` lists what an AI incident response needs
(the policy's "say what happened, when, which tool and account were involved, what
information was affected"), in the order the bot asks; adapters that show a form instead
build it from the same list.
A :class:`Draft` is kept in the ``conversations`` table between messages, so a report
survives a restart and may continue on another server process. Drafts hold redacted text
only and are forgotten after ``Settings.conversation_timeout_minutes`` of silence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.handoff.incident_form import FIELDS_BY_NAME, INCIDENT_FORM, IncidentField
from bot.handoff.records import utc_now
from bot.handoff.submissions import redact_text
from bot.intents import tool_named
from bot.models import Message
from bot.store import Store
from bot.store.schema import ConversationRow

FLOW = "incident"

__all__ = [
    "FIELDS_BY_NAME",
    "INCIDENT_FORM",
    "ConversationKey",
    "Conversations",
    "Draft",
    "IncidentField",
]


@dataclass(frozen=True)
class ConversationKey:
    """Whose draft: one per person per conversation (and thread, where platforms have them)."""

    platform: str
    conversation: str
    user_id: str

    @classmethod
    def of(cls, message: Message) -> ConversationKey:
        conversation = message.conversation_id
        if message.thread_id:
            conversation = f"{conversation}#{message.thread_id}"
        if len(conversation) > 255:  # some platforms' ids are long: keep them unique anyway
            conversation = hashlib.sha256(conversation.encode()).hexdigest()
        return cls(platform=message.platform, conversation=conversation, user_id=message.user_id)


@dataclass(frozen=True)
class Draft:
    """The answers so far, and the field whose question the bot asked last.

    ``reviewing`` is set once every field is answered: the person sees what will be filed
    and sends, edits or cancels it. ``offered`` is set when a draft the person left has
    been offered back to them ("continue or discard?"); until they choose, their messages
    are not taken as answers. ``started_at`` says which report it is; ``updated_at`` (from
    the store) how long it has been left.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    awaiting: str | None = None
    reviewing: bool = False
    offered: bool = False
    started_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def start(cls, opening: str) -> Draft:
        """A draft with what the opening message already says: a description of more than
        a few words is "what happened", and a tool it names is "which tool"."""
        values: dict[str, str] = {}
        if len(opening.split()) >= 4:
            values["what_happened"] = opening.strip()
        if tool := tool_named(opening):
            values["tool"] = tool
        return cls(values=values).ask_next()

    @property
    def step(self) -> int | None:
        """The awaited field's place in the form (1-based), None when there is none."""
        names = [f.name for f in INCIDENT_FORM]
        return names.index(self.awaiting) + 1 if self.awaiting in names else None

    @property
    def next_field(self) -> IncidentField | None:
        return next((f for f in INCIDENT_FORM if f.name not in self.values), None)

    def ask_next(self) -> Draft:
        upcoming = self.next_field
        return replace(
            self, awaiting=upcoming.name if upcoming else None, reviewing=upcoming is None
        )

    def answer(self, text: str) -> Draft:
        """The draft with ``text`` as the answer to the awaited field, awaiting the next
        (or, once every field has an answer, in review)."""
        assert self.awaiting is not None
        return replace(self, values={**self.values, self.awaiting: text.strip()}).ask_next()

    def edit(self, name: str) -> Draft:
        """The draft awaiting a new answer to ``name``; it returns to review afterwards."""
        return replace(self, awaiting=name, reviewing=False)

    @property
    def complete(self) -> bool:
        return self.next_field is None


class Conversations:
    """Drafts in the store, keyed by :class:`ConversationKey`."""

    def __init__(
        self,
        store: Store,
        *,
        timeout: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.clock = clock

    def load(self, key: ConversationKey) -> Draft | None:
        """The person's unfinished draft here, or None (also when it has expired)."""
        with self.store.transaction() as session:
            row = session.get(ConversationRow, (key.platform, key.conversation, key.user_id))
            if row is None or row.flow != FLOW or row.expires_at <= self.clock():
                return None
            data = row.data
            updated = row.updated_at
        started = data.get("started_at")
        return Draft(
            values=dict(data.get("values", {})),
            awaiting=data.get("awaiting"),
            reviewing=bool(data.get("reviewing")),
            offered=bool(data.get("offered")),
            started_at=datetime.fromisoformat(started) if started else updated,
            updated_at=updated,
        )

    def save(self, key: ConversationKey, draft: Draft) -> None:
        """Keep the draft (its values redacted) for another ``timeout``."""
        now = self.clock()
        data = {
            "values": {name: redact_text(value) for name, value in draft.values.items()},
            "awaiting": draft.awaiting,
            "reviewing": draft.reviewing,
            "offered": draft.offered,
            "started_at": (draft.started_at or now).isoformat(),
        }
        table = ConversationRow.__table__
        statement = (
            self.store.insert(table)
            .values(
                platform=key.platform,
                conversation_key=key.conversation,
                user_id=key.user_id,
                flow=FLOW,
                data=data,
                updated_at=now,
                expires_at=now + self.timeout,
            )
            .on_conflict_do_update(
                index_elements=["platform", "conversation_key", "user_id"],
                set_={
                    "flow": FLOW,
                    "data": data,
                    "updated_at": now,
                    "expires_at": now + self.timeout,
                },
            )
        )
        with self.store.transaction() as session:
            session.execute(statement)

    def clear(self, key: ConversationKey) -> bool:
        """Forget the draft; True if there was one."""
        with self.store.transaction() as session:
            deleted = session.execute(
                sa.delete(ConversationRow)
                .where(
                    ConversationRow.platform == key.platform,
                    ConversationRow.conversation_key == key.conversation,
                    ConversationRow.user_id == key.user_id,
                )
                .returning(ConversationRow.flow)
            ).first()
        return deleted is not None
