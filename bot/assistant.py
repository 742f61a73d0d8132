"""The platform-neutral entrance: ``Assistant.handle(Message) -> Reply``.

Adapters call ``handle`` for every message and render the reply; nothing here knows about
Slack or Teams. ``handle`` routes (see :mod:`bot.intents`): a policy question is answered;
an incident report is collected one question at a time; "feedback: ...", "ask a person",
"helpful" / "not helpful: ..." and "my tickets" go to the hand-off service. Buttons and
forms call the typed methods (:meth:`Assistant.rate_answer`, :meth:`Assistant.ask_person`,
:meth:`Assistant.start_incident`, :meth:`Assistant.submit_incident_form`,
:meth:`Assistant.general_feedback`), which return a :class:`Reply` too.

Answering and the store are synchronous and run in worker threads, so the event loop keeps
acknowledging. Notifications (support-channel posts, messages to reporters) go through the
notifiers adapters register in :attr:`Assistant.notifiers`; they are delivered in the
background after the reply is built (:meth:`Assistant.flush_notifications` waits for them).
Staff actions are on :attr:`Assistant.desk`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.delivery import Notifiers, OutboxRelay
from bot.desk import SupportDesk
from bot.errors import InvalidInput
from bot.guard import PrivacyNotice, guard
from bot.handoff import Handoff, utc_now
from bot.incident import FIELDS_BY_NAME, INCIDENT_FORM, ConversationKey, Conversations, Draft
from bot.intents import Route, classify
from bot.models import Action, Answer, Citation, Message, Reply, Status
from bot.ports import Reporter
from bot.queue import SupportQueue
from bot.store import Store, open_store
from bot.tickets import AnswerRecord, Escalation, GeneralFeedback, IncidentReport, Rating, Ticket

log = logging.getLogger(__name__)

# What the incident confirmation cites: the policy's reporting and first-steps sections.
INCIDENT_POLICY_QUESTION = "how do I report an AI incident and what should I do straight after"


def reporter_of(message: Message) -> Reporter:
    return Reporter(
        platform=message.platform,
        user_id=message.user_id,
        conversation_ref=message.conversation_ref,
        display_name=message.display_name,
    )


def asker_key(message: Message) -> str:
    """Finds "my last answer in this conversation" without storing who asked."""
    parts = (message.platform, message.conversation_id, message.thread_id or "", message.user_id)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def message_key(message: Message, route: str) -> str | None:
    """An idempotency key from the platform's message id: a retried delivery of the same
    message finds the ticket the first one created."""
    if not message.message_id:
        return None
    return f"{route}:{message.platform}:{message.conversation_id}:{message.message_id}"[:255]


class Assistant:
    """Routes each message and owns the hand-off wiring; see the module docstring."""

    def __init__(
        self,
        engine: Any,
        *,
        store: Store | None = None,
        notifiers: Notifiers | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        settings = engine.settings
        self.engine = engine
        self.store = store or open_store(settings)
        self.handoff = Handoff(self.store, settings, clock=clock)
        self.queue = SupportQueue(self.store, settings, clock=clock)
        self.notifiers = notifiers or Notifiers()
        self.deliveries = OutboxRelay(self.store, self.notifiers, clock=clock)
        self.desk = SupportDesk(
            self.queue, self.deliveries, embedder=getattr(engine, "embedder", None)
        )
        self.conversations = Conversations(
            self.store,
            timeout=timedelta(minutes=settings.conversation_timeout_minutes),
            clock=clock,
        )
        self.ack_hours = settings.incident_ack_hours
        self.privacy_notice = PrivacyNotice(lambda q: self.engine.answerer.answer(q))
        self._deliveries: set[asyncio.Task[int]] = set()

    async def ask(self, text: str) -> Answer:
        """The engine's answer to ``text`` after the privacy guard (``Answer.privacy``)."""
        guarded = guard(text)
        answer = await asyncio.to_thread(self.engine.answerer.answer, guarded.text)
        return replace(answer, privacy=guarded.types)

    async def handle(self, message: Message) -> Reply:
        """The reply to one message. The privacy guard runs here, once: every route, the
        store, the logs and the language model see only the redacted text, and a reply to a
        message that held identifiers says which types were removed (``Reply.privacy``)."""
        guarded = guard(message.text)
        reply = await self._route(replace(message, text=guarded.text))
        if not guarded.types:
            return reply
        notice = await asyncio.to_thread(self.privacy_notice.text, guarded.types)
        return replace(reply, text=f"{reply.text}\n\n{notice}", privacy=guarded.types)

    async def _route(self, message: Message) -> Reply:
        key = ConversationKey.of(message)
        draft = await self._draft(key)
        if draft is not None:
            return await self._continue_incident(message, key, draft)
        intent = classify(message.text)
        reporter = reporter_of(message)
        if intent.route is Route.CANCEL:
            return Reply(text="There is nothing to cancel. Ask me anything about the GenAI policy.")
        if intent.route is Route.INCIDENT:
            return await self._start_incident(message, key, intent.text)
        if intent.route is Route.FEEDBACK:
            if not intent.text:
                return Reply(
                    text='Write your feedback after "feedback:", for example '
                    '"feedback: the policy should allow Copilot for interns".'
                )
            return await self.general_feedback(
                reporter, intent.text, idempotency_key=message_key(message, "feedback")
            )
        if intent.route is Route.ASK_PERSON:
            last = None if intent.text else await self._last_answer(message)
            if intent.text or last:
                return await self.ask_person(
                    reporter,
                    answer_id=last,
                    question=intent.text or None,
                    idempotency_key=message_key(message, "escalate"),
                )
            return Reply(
                text='Tell me what to ask them, e.g. "ask a person: can interns use '
                'Copilot?", and I will pass it to the support team.'
            )
        if intent.route is Route.RATE:
            last = await self._last_answer(message)
            if last is None:
                return Reply(text="I have no recent answer of mine here to rate.")
            return await self.rate_answer(
                reporter,
                helpful=bool(intent.helpful),
                comment=intent.text,
                answer_id=last,
                idempotency_key=message_key(message, "rating"),
            )
        if intent.route is Route.MY_TICKETS:
            tickets = await asyncio.to_thread(self.handoff.tickets_of, reporter)
            return Reply(text=_tickets_text(tickets))
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
        """A filled-in incident form (field names from :data:`bot.incident.INCIDENT_FORM`).
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
            return _invalid(exc)
        self._deliver_soon()
        if receipt.ticket is None:
            return Reply(text="Thanks for the feedback!")
        return Reply(
            text=f"Thanks for telling me. I've passed this to the support team as "
            f"{receipt.ticket.reference} so the answer can be improved. If you need an answer "
            "now, choose Ask a person.",
            actions=(Action.ASK_PERSON,),
            reference=receipt.ticket.reference,
        )

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
        the stored answer ``answer_id``, or a fresh answer to ``question``."""
        attempt: Answer | None = None
        if answer_id is None and question and question.strip():
            attempt = await self.ask(question.strip()[: self.handoff.max_chars])
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
            return _invalid(exc)
        self._deliver_soon()
        reference = submitted.ticket.reference
        return Reply(
            text=f"I've passed your question to the support team as {reference}, with my "
            "attempt at an answer. A person will get back to you; I'll let you know here when "
            "someone picks it up.",
            reference=reference,
        )

    async def general_feedback(
        self, reporter: Reporter, text: str, *, idempotency_key: str | None = None
    ) -> Reply:
        """Feedback on the policy or the bot, at any time."""
        feedback = GeneralFeedback(reporter=reporter, text=text, idempotency_key=idempotency_key)
        try:
            submitted = await asyncio.to_thread(self.handoff.general_feedback, feedback)
        except InvalidInput as exc:
            return _invalid(exc)
        self._deliver_soon()
        reference = submitted.ticket.reference
        return Reply(
            text=f"Thank you: your feedback is logged as {reference} and the policy team will "
            "read it.",
            reference=reference,
        )

    async def link_answer(self, answer_id: str, *, platform: str, message_ref: str) -> None:
        """Tell the core which platform message carried an answer (for feedback that names
        only the message, like Teams' ``message/submitAction``)."""
        await asyncio.to_thread(
            self.handoff.link_answer, answer_id, platform=platform, message_ref=message_ref
        )

    async def flush_notifications(self) -> None:
        """Wait for the background deliveries started so far (tests, shutdown)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    # ---- routes ------------------------------------------------------------------------

    async def _answer(self, message: Message) -> Reply:
        def answer_and_record() -> tuple[Answer, str | None]:
            answer = self.engine.answerer.answer(message.text[: self.handoff.max_chars])
            record = AnswerRecord(
                platform=message.platform,
                asker_key=asker_key(message),
                question=message.text,
                answer=answer.text,
                status=answer.status.value,
                citations=answer.citations,
            )
            try:
                return answer, self.handoff.record_answer(record)
            except SQLAlchemyError:  # the answer matters more than its feedback link
                log.exception("could not record an answer; feedback will need the question")
                return answer, None

        answer, answer_id = await asyncio.to_thread(answer_and_record)
        return reply_for(answer, answer_id=answer_id)

    async def _start_incident(self, message: Message, key: ConversationKey, opening: str) -> Reply:
        draft = Draft.start(opening)
        await asyncio.to_thread(self.conversations.save, key, draft)
        intro = (
            "I'm sorry that happened; let's report it to the AI Support Team now. "
            f'I\'ll ask up to {len(INCIDENT_FORM)} short questions; say "cancel" at any time. '
            "Meanwhile, don't enter the data anywhere again.\n\n"
        )
        return Reply(text=intro + FIELDS_BY_NAME[draft.awaiting or "what_happened"].question)

    async def _continue_incident(
        self, message: Message, key: ConversationKey, draft: Draft
    ) -> Reply:
        if classify(message.text).route is Route.CANCEL:
            await asyncio.to_thread(self.conversations.clear, key)
            return Reply(
                text="Cancelled: I haven't sent anything to the support team. If you change "
                'your mind, say "report incident".'
            )
        asked = FIELDS_BY_NAME[draft.awaiting or "what_happened"]
        text = message.text.strip()
        if not text:
            return Reply(text=f"I didn't catch that. {asked.question}")
        if len(text) > self.handoff.max_chars:
            return Reply(
                text=f"That is {len(text):,} characters; please keep it under "
                f"{self.handoff.max_chars:,} and try again. {asked.question}"
            )
        draft = draft.answer(text)
        if not draft.complete:
            await asyncio.to_thread(self.conversations.save, key, draft)
            return Reply(text=FIELDS_BY_NAME[draft.awaiting or ""].question)
        report = IncidentReport(
            reporter=reporter_of(message),
            idempotency_key=message_key(message, "incident"),
            **dict(draft.values),
        )
        reply = await self._report(report)
        if not reply.field_errors:
            await asyncio.to_thread(self.conversations.clear, key)
        return reply

    async def _report(self, report: IncidentReport) -> Reply:
        try:
            submitted = await asyncio.to_thread(self.handoff.report_incident, report)
        except InvalidInput as exc:
            return _invalid(exc)
        self._deliver_soon()
        policy = await self.ask(INCIDENT_POLICY_QUESTION)
        return incident_reply(submitted.ticket, policy, ack_hours=self.ack_hours)

    # ---- helpers -----------------------------------------------------------------------

    async def _draft(self, key: ConversationKey) -> Draft | None:
        try:
            return await asyncio.to_thread(self.conversations.load, key)
        except SQLAlchemyError:  # without the store, still answer questions
            log.exception("could not read conversation state")
            return None

    async def _last_answer(self, message: Message) -> str | None:
        return await asyncio.to_thread(self.handoff.last_answer_id, asker_key(message))

    def _deliver_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.deliveries.deliver_pending())
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)


def reply_for(answer: Answer, *, answer_id: str | None = None) -> Reply:
    if answer.status is Status.NOT_FOUND:
        return Reply(
            text=answer.text,
            status=answer.status,
            actions=(Action.ASK_PERSON,),
            answer_id=answer_id,
            language=answer.language,
        )
    return Reply(
        text=answer.text,
        citations=answer.citations,
        ai_generated=True,
        status=answer.status,
        actions=(Action.FEEDBACK, Action.REPORT_INCIDENT, Action.ASK_PERSON),
        answer_id=answer_id,
        language=answer.language,
    )


def incident_reply(ticket: Ticket, policy: Answer, *, ack_hours: float) -> Reply:
    """The confirmation: reference, what happens next, what to do now, and the policy
    sections on incidents (cited when the knowledge base has them)."""
    hours = f"{ack_hours:g} hour{'s' if ack_hours != 1 else ''}"
    citations: tuple[Citation, ...] = ()
    sources = ""
    if policy.status is Status.ANSWERED and policy.citations:
        citations = policy.citations
        sections = "; ".join(f"{c.section.split(' › ')[-1]} [{c.n}]" for c in citations)
        sources = f"\n\nThe policy on this: {sections}."
    text = (
        f"Thank you. Your report is {ticket.reference}.\n\n"
        f"What happens next: the AI Support Team has it now and will acknowledge it within "
        f"{hours}. I'll tell you here when someone picks it up and when it is resolved.\n\n"
        "What to do now: stop using the tool for this task. Keep the evidence: don't delete "
        "the conversation, take screenshots and note the time, the tool and the account. "
        "Don't enter the data again, here or in another tool, to test what happened, and "
        "leave contacting the vendor or the people affected to the response team. Tell your "
        "line manager too." + sources
    )
    return Reply(text=text, citations=citations, reference=ticket.reference)


def _invalid(error: InvalidInput) -> Reply:
    problems = "; ".join(
        f"{FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else name} {reason}"
        for name, reason in error.errors.items()
    )
    return Reply(text=f"I couldn't send that: {problems}.", field_errors=dict(error.errors))


def _tickets_text(tickets: list[Ticket]) -> str:
    if not tickets:
        return "You have no reports or questions with the support team."
    lines = ["Your reports and questions with the support team:"]
    for t in tickets:
        who = f", with {t.assignee}" if t.assignee and t.state.value == "claimed" else ""
        lines.append(f"• {t.reference} ({t.kind.label}): {t.state.value}{who}: {t.title}")
    return "\n".join(lines)
