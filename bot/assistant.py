"""The platform-neutral entrance: ``Assistant.handle(Message) -> Reply``.

Adapters call ``handle`` for every message and render the reply; nothing here knows about
Slack or Teams. ``handle`` routes (see :mod:`bot.intents`): a policy question is answered;
an incident report is collected one question at a time; "feedback: ...", "ask a person",
"helpful" / "not helpful: ..." and "my tickets" go to the hand-off service. Buttons and
forms call the typed methods (:meth:`Assistant.rate_answer`, :meth:`Assistant.ask_person`,
:meth:`Assistant.start_incident`, :meth:`Assistant.submit_incident_form`,
:meth:`Assistant.general_feedback`), which return a :class:`Reply` too. A one-shot question
(``policybot ask``) goes through the stateless :meth:`Assistant.ask`.

The assistant routes only: it receives its collaborators (an answerer and the hand-off
services, see :func:`bot.assembly.build_assistant`) and takes its wording from
:mod:`bot.replies`. Answering and the store are synchronous and run in worker threads, so
the event loop keeps acknowledging. Notifications queued by a change are delivered in the
background after the reply is built (:meth:`Assistant.flush_notifications` waits for them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, tzinfo
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot import replies
from bot.answering.pool import AnswerQueue, Busy
from bot.errors import ConfigurationError, InvalidInput
from bot.handoff.desk import SupportDesk
from bot.handoff.incident import INCIDENT_FORM, ConversationKey, Draft
from bot.handoff.keys import asker_key, message_key
from bot.handoff.lifecycle import SupportQueue
from bot.handoff.outbox import Notifiers, OutboxRelay
from bot.handoff.ports import Reporter
from bot.handoff.services import HandoffServices
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, Escalation, GeneralFeedback, IncidentReport, Rating
from bot.history import ChatHistory
from bot.incident_dialogue import IncidentDialogue
from bot.intents import Route, classify
from bot.limits import MAX_MESSAGE_CHARS, MAX_QUESTION_CHARS
from bot.models import Answer, Message, Reply
from bot.observation import QuestionObserver, notify
from bot.privacy.guard import PrivacyNotice, guard
from bot.store import Store

log = logging.getLogger(__name__)

# What the incident confirmation cites: the policy's reporting and first-steps sections.
INCIDENT_POLICY_QUESTION = "how do I report an AI incident and what should I do straight after"


class Answering(Protocol):
    """What the assistant needs from the answering package (an :class:`Answerer`)."""

    def answer(self, question: str) -> Answer: ...


class Assistant:
    """Routes each message to its collaborators; see the module docstring.

    Without ``handoff`` only :meth:`ask` works (a one-shot question needs no store).
    """

    def __init__(
        self,
        answerer: Answering,
        *,
        handoff: HandoffServices | None = None,
        max_chars: int = MAX_QUESTION_CHARS,
        zone: tzinfo = UTC,
        pool: AnswerQueue | None = None,
    ) -> None:
        self.answerer = answerer
        # A server's answering threads and queue limit; without one, answers run on the
        # event loop's default executor (the CLI, tests).
        self.pool = pool
        self.services = handoff
        self.max_chars = max_chars
        self.zone = zone
        self.privacy_notice = PrivacyNotice(answerer.answer)
        self.observers: list[QuestionObserver] = []
        self._deliveries: set[asyncio.Task[int]] = set()

    # ---- the collaborators adapters reach through the assistant ------------------------

    @property
    def handoff_services(self) -> HandoffServices:
        if self.services is None:
            raise ConfigurationError(
                "this assistant answers one-shot questions only: build it with "
                "bot.assembly.build_assistant to reach the hand-off service"
            )
        return self.services

    @property
    def dialogue(self) -> IncidentDialogue:
        return IncidentDialogue(
            self.handoff_services.conversations,
            aside=self._route_plain,
            file=self._file_draft,
            max_chars=self.max_chars,
            zone=self.zone,
            clock=self.handoff_services.conversations.clock,
        )

    @property
    def history(self) -> ChatHistory:
        return self.handoff_services.history

    @property
    def store(self) -> Store:
        return self.handoff_services.store

    @property
    def handoff(self) -> Handoff:
        return self.handoff_services.submissions

    @property
    def desk(self) -> SupportDesk:
        return self.handoff_services.desk

    @property
    def queue(self) -> SupportQueue:
        return self.handoff_services.desk.queue

    @property
    def deliveries(self) -> OutboxRelay:
        return self.handoff_services.relay

    @property
    def notifiers(self) -> Notifiers:
        return self.handoff_services.notifiers

    # ---- entrances ---------------------------------------------------------------------

    async def ask(self, text: str) -> Answer:
        """The answer to one question after the privacy guard (``Answer.privacy``). Stateless:
        nothing is stored and a question never starts an incident dialogue."""
        guarded = guard(text[: self.max_chars])
        answer = await asyncio.to_thread(self.answerer.answer, guarded.text)
        return replace(answer, privacy=guarded.types)

    async def handle(self, message: Message) -> Reply:
        """The reply to one message. The privacy guard runs here, once: every route, the
        store, the logs and the language model see only the redacted text, and a reply to a
        message that held identifiers says which types were removed (``Reply.privacy``)."""
        started = time.perf_counter()
        guarded = await asyncio.to_thread(guard, message.text[:MAX_MESSAGE_CHARS])
        message = replace(message, text=guarded.text)
        reply = await self._route(message)
        if guarded.types:
            notice = await asyncio.to_thread(self.privacy_notice.text, guarded.types)
            reply = replace(reply, text=f"{reply.text}\n\n{notice}", privacy=guarded.types)
        if reply.status is not None:
            await notify(self.observers, message, reply, time.perf_counter() - started)
        return reply

    async def _route(self, message: Message) -> Reply:
        key = ConversationKey.of(message)
        draft = await self._draft(key)
        if draft is not None:
            return await self.dialogue.reply(message, key, draft)
        intent = classify(message.text)
        if intent.route is Route.INCIDENT:
            return await self._start_incident(message, key, intent.text)
        return await self._route_plain(message)

    async def _route_plain(self, message: Message) -> Reply:
        """Every route but starting a report: also how a message in the middle of a report
        that isn't an answer (a question, "my tickets") is handled."""
        intent = classify(message.text)
        reporter = Reporter.of(message)
        if intent.route is Route.CANCEL:
            return Reply(text=replies.NOTHING_TO_CANCEL)
        if intent.route is Route.GREETING:
            return replies.greeting()
        if intent.route is Route.THANKS:
            return Reply(text=replies.YOU_ARE_WELCOME)
        if intent.route is Route.FEEDBACK:
            if not intent.text:
                return Reply(text=replies.FEEDBACK_HINT)
            return await self.general_feedback(
                reporter, intent.text, idempotency_key=message_key("feedback", message)
            )
        if intent.route is Route.ASK_PERSON:
            last = None if intent.text else await self._last_answer(message)
            if not (intent.text or last):
                return Reply(text=replies.ASK_PERSON_HINT)
            return await self._escalate(
                reporter,
                answer_id=last,
                question=intent.text or None,
                idempotency_key=message_key("escalate", message),
            )
        if intent.route is Route.RATE:
            last = await self._last_answer(message)
            if last is None:
                return Reply(text=replies.NOTHING_TO_RATE)
            return await self.rate_answer(
                reporter,
                helpful=bool(intent.helpful),
                comment=intent.text,
                answer_id=last,
                idempotency_key=message_key("rating", message),
            )
        if intent.route is Route.MY_TICKETS:
            tickets = await asyncio.to_thread(self.handoff.tickets_of, reporter)
            return Reply(text=replies.tickets_text(tickets))
        return await self._answer(message)

    # ---- typed entrances for buttons and forms -------------------------------------------

    async def start_incident(self, message: Message) -> Reply:
        """The "Report an AI incident" action: start (or restart) the conversation;
        ``message.text`` may already describe what happened."""
        message = replace(message, text=guard(message.text).text)
        intent = classify(message.text)
        opening = intent.text if intent.route is Route.INCIDENT else message.text
        return await self._start_incident(message, ConversationKey.of(message), opening)

    async def submit_incident_form(
        self,
        reporter: Reporter,
        form: Mapping[str, str],
        *,
        idempotency_key: str | None = None,
    ) -> Reply:
        """A filled-in incident form (field names from :data:`bot.handoff.incident.INCIDENT_FORM`).
        Problems come back in ``Reply.field_errors`` (e.g. ``{"what_happened": "is empty;
        please fill it in"}``) and nothing is stored."""
        report = IncidentReport(
            reporter=reporter,
            idempotency_key=idempotency_key,
            **{f.name: str(form.get(f.name) or "") for f in INCIDENT_FORM},
        )
        return await self._report(report)

    async def rate_answer(
        self,
        reporter: Reporter,
        *,
        helpful: bool,
        comment: str = "",
        answer_id: str | None = None,
        message_ref: str | None = None,
        question: str | None = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        """Helpful / not helpful on an answer (``Reply.answer_id``, or the platform id of the
        message that carried it after :meth:`link_answer`, or at least the ``question``)."""
        rating = Rating(
            reporter=reporter,
            helpful=helpful,
            comment=comment,
            answer_id=answer_id,
            message_ref=message_ref,
            question=question,
            idempotency_key=idempotency_key,
        )
        try:
            receipt = await asyncio.to_thread(self.handoff.submit_feedback, rating)
        except InvalidInput as exc:
            return replies.invalid_reply(exc)
        self._deliver_soon()
        if receipt.ticket is None:
            return Reply(text=replies.THANKS_FOR_RATING)
        return replace(replies.rating_passed_on(receipt.ticket.reference), answer_id=answer_id)

    async def ask_person(
        self,
        reporter: Reporter,
        *,
        answer_id: str | None = None,
        question: str | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Reply:
        """Pass a question to the support team with the bot's attempt at answering it:
        the stored answer ``answer_id``, or a fresh answer to ``question``. A button's raw
        text crosses the privacy guard here, once."""
        return await self._escalate(
            reporter,
            answer_id=answer_id,
            question=guard(question).text if question else question,
            note=guard(note).text if note else note,
            idempotency_key=idempotency_key,
        )

    async def general_feedback(
        self, reporter: Reporter, text: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """Feedback on the policy or the bot, at any time."""
        feedback = GeneralFeedback(reporter=reporter, text=text, idempotency_key=idempotency_key)
        try:
            submitted = await asyncio.to_thread(self.handoff.general_feedback, feedback)
        except InvalidInput as exc:
            return replies.invalid_reply(exc)
        self._deliver_soon()
        return replies.feedback_logged(submitted.ticket.reference)

    async def link_answer(self, answer_id: str, *, platform: str, message_ref: str) -> None:
        """Tell the core which platform message carried an answer (for feedback that names
        only the message, like Teams' ``message/submitAction``)."""
        await asyncio.to_thread(
            self.handoff.link_answer, answer_id, platform=platform, message_ref=message_ref
        )

    async def unfinished_report(self, message: Message) -> Reply | None:
        """The person's unfinished report offered back ("continue or discard?"), for an
        adapter whose session starts (a page load, ``policybot chat``); None if there is none.
        ``message`` says whose conversation (its text is ignored)."""
        return await self.dialogue.offer(ConversationKey.of(message))

    async def report_in_progress(self, message: Message) -> bool:
        """Whether this person has a report open in this conversation."""
        return await self._draft(ConversationKey.of(message)) is not None

    async def flush_notifications(self) -> None:
        """Wait for the background deliveries started so far (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    # ---- routes ------------------------------------------------------------------------

    async def _answer(self, message: Message) -> Reply:
        def record(answer: Answer) -> str | None:
            entry = AnswerRecord(
                platform=message.platform,
                asker_key=asker_key(message),
                question=message.text,
                answer=answer.text,
                status=answer.status.value,
                citations=answer.citations,
                reply_to=message.reply_to,
            )
            try:
                return self.handoff.record_answer(entry)
            except SQLAlchemyError:  # the answer matters more than its feedback link
                log.exception("could not record an answer; feedback will need the question")
                return None

        def answer_and_record() -> tuple[Answer, str | None]:
            answer = self.answerer.answer(message.text[: self.max_chars])
            return answer, record(answer)

        if self.pool is None:
            answer, answer_id = await asyncio.to_thread(answer_and_record)
            return replies.answer_reply(answer, answer_id=answer_id)
        try:
            # The pool's threads only compute; the store write goes where the other store
            # calls go, so answering never holds more database connections than before.
            answer = await self.pool.answer(self.answerer, message.text[: self.max_chars])
        except Busy:
            log.warning("answer queue full: replied busy")
            return Reply(text=replies.BUSY)
        answer_id = await asyncio.to_thread(record, answer)
        return replies.answer_reply(answer, answer_id=answer_id)

    async def _escalate(
        self,
        reporter: Reporter,
        *,
        answer_id: str | None,
        question: str | None,
        note: str = "",
        idempotency_key: str | None,
    ) -> Reply:
        """``question`` and ``note`` have crossed the guard already."""
        attempt: Answer | None = None
        if answer_id is None and question and question.strip():
            text = question.strip()[: self.max_chars]
            attempt = await asyncio.to_thread(self.answerer.answer, text)
        escalation = Escalation(
            reporter=reporter,
            question=question or "",
            answer_id=answer_id,
            answer=attempt.text if attempt else "",
            citations=attempt.citations if attempt else (),
            note=note,
            idempotency_key=idempotency_key,
        )
        try:
            submitted = await asyncio.to_thread(self.handoff.escalate, escalation)
        except InvalidInput as exc:
            return replies.invalid_reply(exc)
        self._deliver_soon()
        return replies.escalated(submitted.ticket.reference)

    async def _start_incident(self, message: Message, key: ConversationKey, opening: str) -> Reply:
        return await self.dialogue.start(key, opening)

    async def _file_draft(self, message: Message, draft: Draft) -> Reply:
        report = IncidentReport(
            reporter=Reporter.of(message),
            idempotency_key=message_key("incident", message),
            **dict(draft.values),
        )
        return await self._report(report)

    async def _report(self, report: IncidentReport) -> Reply:
        try:
            submitted = await asyncio.to_thread(self.handoff.report_incident, report)
        except InvalidInput as exc:
            return replies.invalid_reply(exc)
        self._deliver_soon()
        policy = await self.ask(INCIDENT_POLICY_QUESTION)
        return replies.incident_reply(
            submitted.ticket, policy, ack_hours=self.handoff_services.ack_hours
        )

    # ---- helpers -----------------------------------------------------------------------

    async def _draft(self, key: ConversationKey) -> Draft | None:
        try:
            return await asyncio.to_thread(self.handoff_services.conversations.load, key)
        except SQLAlchemyError:  # without the store, still answer questions
            log.exception("could not read conversation state")
            return None

    async def _last_answer(self, message: Message) -> str | None:
        return await asyncio.to_thread(self.handoff.last_answer_id, asker_key(message))

    def _deliver_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.deliveries.deliver_pending())
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
