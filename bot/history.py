"""A visitor's recent turns, so a page reload doesn't empty the conversation.

Kept in the ``conversations`` table under a key of its own (flow ``history``), for as long
as an unfinished report would be (``Settings.conversation_timeout_minutes`` of silence),
and purged with the other expired conversation state. Only redacted text is stored: the
question after the privacy guard and the reply, which the core built from redacted text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.handoff.incident import ConversationKey
from bot.handoff.records import utc_now
from bot.models import Action, Citation, Reply, Status
from bot.privacy.guard import guard
from bot.store import Store
from bot.store.schema import ConversationRow

FLOW = "history"
MAX_TURNS = 30


@dataclass(frozen=True)
class Turn:
    """One question (redacted) and the reply to it."""

    question: str
    reply: Reply


def _reply_data(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "citations": [
            {**c.as_json(), "location": c.location, "score": c.score} for c in reply.citations
        ],
        "ai_generated": reply.ai_generated,
        "actions": [a.value for a in reply.actions],
        "status": reply.status.value if reply.status else None,
        "notices": list(reply.notices),
        "answer_id": reply.answer_id,
        "reference": reply.reference,
        "progress": reply.progress,
        "starters": list(reply.starters),
        "language": reply.language,
    }


def _reply_of(data: dict[str, Any]) -> Reply:
    return Reply(
        text=data["text"],
        citations=tuple(Citation(**c) for c in data.get("citations", [])),
        ai_generated=bool(data.get("ai_generated")),
        actions=tuple(Action(a) for a in data.get("actions", [])),
        status=Status(data["status"]) if data.get("status") else None,
        notices=tuple(data.get("notices", [])),
        answer_id=data.get("answer_id"),
        reference=data.get("reference"),
        progress=data.get("progress"),
        starters=tuple(data.get("starters", [])),
        language=str(data.get("language") or "en"),
    )


class ChatHistory:
    """Recent turns per person and conversation, in the store."""

    def __init__(
        self, store: Store, *, timeout: timedelta, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.store = store
        self.timeout = timeout
        self.clock = clock

    @staticmethod
    def _key(key: ConversationKey) -> tuple[str, str, str]:
        return key.platform, f"history:{key.conversation}"[:255], key.user_id

    def turns(self, key: ConversationKey) -> list[Turn]:
        """The kept turns, oldest first (none once the conversation has gone quiet)."""
        with self.store.transaction() as session:
            row = session.get(ConversationRow, self._key(key))
            if row is None or row.flow != FLOW or row.expires_at <= self.clock():
                return []
            data = row.data
        return [Turn(t["question"], _reply_of(t["reply"])) for t in data.get("turns", [])]

    def add(self, key: ConversationKey, question: str, reply: Reply) -> None:
        """Keep one more turn; the question crosses the privacy guard before it is stored."""
        turns = [{"question": t.question, "reply": _reply_data(t.reply)} for t in self.turns(key)]
        turns.append({"question": guard(question).text, "reply": _reply_data(reply)})
        now = self.clock()
        platform, conversation, user = self._key(key)
        values = {
            "flow": FLOW,
            "data": {"turns": turns[-MAX_TURNS:]},
            "updated_at": now,
            "expires_at": now + self.timeout,
        }
        statement = (
            self.store.insert(ConversationRow.__table__)
            .values(platform=platform, conversation_key=conversation, user_id=user, **values)
            .on_conflict_do_update(
                index_elements=["platform", "conversation_key", "user_id"], set_=values
            )
        )
        with self.store.transaction() as session:
            session.execute(statement)
