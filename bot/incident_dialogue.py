"""The incident conversation: one question at a time, a review before filing, and a
conversation that listens.

Each reply carries where the report stands (``Reply.progress``, "Reporting an AI incident ·
step 2 of 7") and the buttons that fit that step (Cancel; Send / Edit / Cancel at the
review; Continue / Discard for a report the person left). A message that is plainly not an
answer to the pending question (a question of its own, a greeting, "my tickets") is handled
as it would be outside the report, and the pending question is asked again: nothing is
stored as an answer that wasn't one. A report left for a while, or found when a session
starts, is offered back explicitly, never resumed silently.

The decisions live here, in the core; adapters only render ``progress`` and the actions.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from bot import replies
from bot.handoff.incident import (
    FIELDS_BY_NAME,
    INCIDENT_FORM,
    ConversationKey,
    Conversations,
    Draft,
)
from bot.handoff.records import utc_now
from bot.intents import Route, classify, is_question
from bot.models import Action, Message, Reply

# A draft untouched for this long is offered back ("continue or discard?") rather than
# taking the next message as its answer: by then the person has most likely moved on.
RESUME_PAUSE = timedelta(minutes=15)

_SEND = re.compile(
    r"^(?:send|send it|send the report|confirm|submit|file it|yes,? send(?: it)?|looks good,? send"
    r"(?: it)?)\s*[.!]*$",
    re.I,
)
_EDIT = re.compile(
    r"^(?:edit|change|fix|correct)(?:\s+(?:answer\s+|no\.?\s*)?(?P<which>.+?))?\s*$", re.I
)
_CONTINUE = re.compile(
    r"^(?:continue|resume|carry on|go on|keep going)(?: (?:it|the report))?[.!]*$", re.I
)
_DISCARD = re.compile(
    r"^(?:discard|delete|drop|throw away|bin)(?: (?:it|that|the report|the draft))?[.!]*$", re.I
)
# Routes that are never an answer to a field: they are handled, then the question repeats.
_ASIDE_ROUTES = frozenset(
    {Route.GREETING, Route.THANKS, Route.FEEDBACK, Route.ASK_PERSON, Route.RATE, Route.MY_TICKETS}
)

Aside = Callable[[Message], Awaitable[Reply]]
File = Callable[[Message, Draft], Awaitable[Reply]]


def is_aside(text: str) -> bool:
    """A message that is clearly not an answer to a report's question: a question of its own,
    with or without its question mark ("is Copilot ok for writing code", "does it matter
    that it was my personal account?", "可唔可以用ChatGPT"), a greeting or thanks, or one of
    the assistant's commands."""
    stripped = text.strip()
    return is_question(stripped) or classify(stripped).route in _ASIDE_ROUTES


def field_named(which: str) -> str | None:
    """The field an "edit ..." means: its number in the review, or a word of its label."""
    which = which.strip().strip(".:#").lower()
    if which.isdigit() and 1 <= int(which) <= len(INCIDENT_FORM):
        return INCIDENT_FORM[int(which) - 1].name
    if not which:
        return None
    for f in INCIDENT_FORM:
        if which in f.label.lower() or which == f.name:
            return f.name
    return None


class IncidentDialogue:
    """Starts, continues, reviews and files incident reports held in :class:`Conversations`.

    ``aside`` handles a message as if no report were open (an answer to a question, the
    person's tickets); ``file`` files a reviewed draft and returns the confirmation.
    """

    def __init__(
        self,
        conversations: Conversations,
        *,
        aside: Aside,
        file: File,
        max_chars: int,
        zone: tzinfo,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.conversations = conversations
        self.aside = aside
        self.file = file
        self.max_chars = max_chars
        self.zone = zone
        self.clock = clock

    async def start(self, key: ConversationKey, opening: str) -> Reply:
        draft = replace(Draft.start(opening), started_at=self.clock())
        await self._save(key, draft)
        return self._asking(draft, intro=True)

    async def offer(self, key: ConversationKey) -> Reply | None:
        """The person's unfinished report offered back (a session starts), or None."""
        draft = await asyncio.to_thread(self.conversations.load, key)
        if draft is None:
            return None
        draft = replace(draft, offered=True)
        await self._save(key, draft)
        return self._offer(draft)

    async def pending(self, key: ConversationKey) -> Draft | None:
        return await asyncio.to_thread(self.conversations.load, key)

    async def reply(self, message: Message, key: ConversationKey, draft: Draft) -> Reply:
        """The next step of the report ``draft`` after ``message``."""
        text = message.text.strip()
        if classify(text).route is Route.CANCEL or (
            _DISCARD.match(text) and (draft.offered or draft.reviewing)
        ):
            await asyncio.to_thread(self.conversations.clear, key)
            return Reply(text=replies.INCIDENT_CANCELLED)
        left = draft.updated_at is not None and self.clock() - draft.updated_at >= RESUME_PAUSE
        if draft.offered or left:
            return await self._offered(message, key, draft, text)
        if draft.reviewing:
            return await self._review_step(message, key, draft, text)
        if not text:
            return self._asking(draft, lead=replies.NOT_CAUGHT)
        if len(text) > self.max_chars:
            return self._asking(draft, lead=replies.too_long(len(text), self.max_chars))
        if is_aside(text) or _SEND.match(text) or _CONTINUE.match(text):
            asking = self._asking(draft)
            again = f"{replies.BACK_TO_REPORT} {asking.text}"
            return _then(await self.aside(message), asking, text=again)
        draft = draft.answer(text)
        await self._save(key, draft)
        if draft.reviewing:
            return self._review(draft)
        return self._asking(draft)

    # ---- steps ---------------------------------------------------------------------------

    async def _offered(
        self, message: Message, key: ConversationKey, draft: Draft, text: str
    ) -> Reply:
        if _CONTINUE.match(text):
            draft = replace(draft, offered=False)
            await self._save(key, draft)
            return self._review(draft) if draft.reviewing else self._asking(draft)
        if not draft.offered:
            draft = replace(draft, offered=True)
            await self._save(key, draft)
        if not text:
            return self._offer(draft)
        return _then(await self.aside(message), self._offer(draft))

    async def _review_step(
        self, message: Message, key: ConversationKey, draft: Draft, text: str
    ) -> Reply:
        if _SEND.match(text):
            reply = await self.file(message, draft)
            if not reply.field_errors:
                await asyncio.to_thread(self.conversations.clear, key)
            return reply
        if match := _EDIT.match(text):
            name = field_named(match["which"] or "")
            if name is None:
                return self._review(draft, lead=replies.WHICH_ANSWER)
            draft = draft.edit(name)
            await self._save(key, draft)
            return self._asking(draft)
        if text and is_aside(text):
            return _then(
                await self.aside(message), self._review(draft), text=replies.REVIEW_REMINDER
            )
        return self._review(draft, lead=replies.NOT_CAUGHT_REVIEW)

    # ---- replies -------------------------------------------------------------------------

    def _asking(self, draft: Draft, *, lead: str = "", intro: bool = False) -> Reply:
        question = FIELDS_BY_NAME[draft.awaiting or "what_happened"].question
        text = replies.incident_intro(question) if intro else question
        return Reply(
            text=f"{lead} {text}".strip() if lead else text,
            progress=replies.incident_progress(draft.step, len(INCIDENT_FORM)),
            actions=(Action.CANCEL_REPORT,),
        )

    def _review(self, draft: Draft, *, lead: str = "") -> Reply:
        rows = [(f.label, draft.values.get(f.name, "")) for f in INCIDENT_FORM]
        text = replies.incident_review(rows)
        return Reply(
            text=f"{lead}\n\n{text}" if lead else text,
            progress=replies.REVIEW_PROGRESS,
            actions=(Action.SEND_REPORT, Action.EDIT_REPORT, Action.CANCEL_REPORT),
        )

    def _offer(self, draft: Draft) -> Reply:
        started = (draft.started_at or self.clock()).astimezone(self.zone)
        today = self.clock().astimezone(self.zone).date()
        moment = (
            started.strftime("%H:%M")
            if started.date() == today
            else (f"{started.day} {started.strftime('%b, %H:%M')}")
        )
        return Reply(
            text=replies.unfinished_report(moment),
            progress=replies.OFFER_PROGRESS,
            actions=(Action.CONTINUE_REPORT, Action.DISCARD_REPORT),
        )

    async def _save(self, key: ConversationKey, draft: Draft) -> None:
        await asyncio.to_thread(self.conversations.save, key, draft)


def _then(handled: Reply, step: Reply, *, text: str | None = None) -> Reply:
    """A message handled as an aside, followed by the report's step again (its question,
    the review reminder or the offer), so every aside ends where the report stands."""
    return replace(
        handled,
        text=f"{handled.text}\n\n{step.text if text is None else text}",
        progress=step.progress,
        actions=_without_report(handled.actions) + step.actions,
    )


def _without_report(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    """An answer given mid-report doesn't offer to start another report."""
    return tuple(a for a in actions if a is not Action.REPORT_INCIDENT)
