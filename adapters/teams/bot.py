"""The Teams bot: translates activities into core calls and core replies into payloads.

Thin by design: the core decides what to answer; :mod:`adapters.teams.payloads` decides
how it looks in Teams; this module only routes activities between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from http import HTTPStatus
from typing import TypeVar

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ChannelAccount

from adapters.teams import payloads
from adapters.teams.connector import note_reference, send, serialize_reference
from adapters.teams.later import LaterReplies
from adapters.teams.settings import TeamsSettings
from adapters.teams.support import SupportChannel
from adapters.teams.tickets import TeamsTickets
from bot.assistant import Assistant
from bot.models import Message, Reply

log = logging.getLogger(__name__)

T = TypeVar("T")
PLATFORM = "teams"
# Teams clears a typing indicator after a few seconds; repeat it while an answer is built.
# The first one waits a moment: most answers are ready sooner, and need none.
TYPING_DELAY_SECONDS = 0.5
TYPING_INTERVAL_SECONDS = 3.0
HELP_TEXT = (
    "Ask me about our generative-AI policy or the PCPD's guidance, for example "
    "*Can I paste customer data into ChatGPT?* I answer with the sections I used."
)

AdminCommand = Callable[[TurnContext, str], Awaitable[None]]


def bot_mention_texts(activity: Activity) -> list[str]:
    """The ``<at>`` texts of the mentions that name the bot itself."""
    texts = []
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        if (entity.type or "").lower() != "mention":
            continue
        props = getattr(entity, "additional_properties", None) or {}
        mentioned = props.get("mentioned") or {}
        if mentioned.get("id") == bot_id and props.get("text"):
            texts.append(props["text"])
    return texts


def user_id(activity: Activity) -> str:
    """The AAD object id when Teams sends one (stable across chats), else the channel id."""
    sender: ChannelAccount = activity.from_property
    return sender.aad_object_id or sender.id


class PolicyTeamsBot(TeamsActivityHandler):
    """Answers questions; admin commands are registered by name (``admin <name>``)."""

    def __init__(
        self,
        assistant: Assistant,
        settings: TeamsSettings,
        support: SupportChannel,
        *,
        typing_delay: float = TYPING_DELAY_SECONDS,
        typing_interval: float = TYPING_INTERVAL_SECONDS,
    ) -> None:
        self.assistant = assistant
        self.settings = settings
        self.support = support
        self.typing_delay = typing_delay
        self.typing_interval = typing_interval
        self.admin_commands: dict[str, AdminCommand] = {}
        self.tickets = TeamsTickets(assistant, support)
        # Set by the endpoint: answers go out after the acknowledgement. None answers
        # inside the request (an embedding without a connector to reply through later).
        self.later: LaterReplies | None = None
        # Threads for the work before the acknowledgement (set by the endpoint; None: the
        # loop's default executor, shared with connector sends and answers' store calls).
        self.ack_executor: Executor | None = None

    async def on_turn(self, turn_context: TurnContext) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.ack_executor, self.support.learn, turn_context.activity)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        submit = payloads.card_submit(activity.value, activity.reply_to_id)
        if submit is not None:
            await self.on_card_submit(turn_context, submit)
            return
        # Up to a megabyte of text: parsed in a worker thread, never on the event loop.
        text = await asyncio.get_running_loop().run_in_executor(
            self.ack_executor, payloads.question_text, activity.text, bot_mention_texts(activity)
        )
        if not text:
            await send(turn_context, payloads.text_activity(HELP_TEXT))
            return
        if text.lower().startswith("admin ") or text.lower() == "admin":
            await self.on_admin_command(turn_context, text[len("admin") :].strip())
            return
        message = Message(
            text=text,
            user_id=user_id(activity),
            platform=PLATFORM,
            conversation_id=activity.conversation.id,
            message_id=activity.id,
            conversation_ref=serialize_reference(TurnContext.get_conversation_reference(activity)),
            display_name=activity.from_property.name,
            reply_to=note_reference(TurnContext.get_conversation_reference(activity)),
        )
        # Started now, with the assistant of this turn; the reply's turn waits for it.
        work: Awaitable[Reply] = self.assistant.handle(message)
        if self.later is not None:
            work = asyncio.ensure_future(work)
        typing = activity.conversation.conversation_type != "channel"
        conversation_id = activity.conversation.id

        async def reply_with_answer(context: TurnContext) -> None:
            await self.answer(context, work, text, conversation_id, typing=typing)

        if self.later is None:
            await reply_with_answer(turn_context)
        else:
            # Acknowledged now; answered through the connector when the answer is ready.
            self.later.start(turn_context, reply_with_answer)

    async def answer(
        self,
        turn_context: TurnContext,
        work: Awaitable[Reply],
        question: str,
        conversation_id: str,
        *,
        typing: bool,
    ) -> None:
        """Wait for the core's reply (with a typing indicator outside channels: Teams
        shows none there) and send it."""
        if typing:
            work = self.while_typing(turn_context, work)
        reply = await work
        sent = await send(turn_context, payloads.answer_activity(reply, question=question))
        if reply.answer_id and sent is not None and sent.id:
            await self.tickets.link_answer(reply.answer_id, conversation_id, sent.id)

    async def while_typing(self, turn_context: TurnContext, work: Awaitable[T]) -> T:
        """Await ``work`` while Teams shows the bot typing.

        The indicator loop is stopped, not cancelled, so its last send has finished before
        the answer goes out: a typing activity arriving after the answer would show again.
        """
        done = asyncio.Event()

        async def keep_typing() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.typing_delay)
            while not done.is_set():
                try:
                    await send(turn_context, payloads.typing_activity())
                except Exception as exc:  # the indicator is cosmetic; never fail the answer
                    log.debug("teams: typing indicator failed: %s", exc)
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), self.typing_interval)

        indicator = asyncio.create_task(keep_typing())
        try:
            return await work
        finally:
            done.set()
            await indicator

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # botbuilder 4.17's TeamsActivityHandler does not route message/submitAction (the
        # feedback buttons); Teams expects 200 with an empty body.
        if turn_context.activity.name == "message/submitAction":
            try:
                feedback = payloads.feedback_from_invoke(
                    turn_context.activity.value, turn_context.activity.reply_to_id
                )
            except ValueError as exc:
                log.warning("teams: unreadable message/submitAction: %s", exc)
                return InvokeResponse(status=int(HTTPStatus.BAD_REQUEST))
            await self.on_feedback(turn_context, feedback)
            return InvokeResponse(status=int(HTTPStatus.OK))
        return await super().on_invoke_activity(turn_context)

    async def on_feedback(self, turn_context: TurnContext, feedback: payloads.Feedback) -> None:
        await self.tickets.feedback(turn_context, feedback)

    async def on_card_submit(self, turn_context: TurnContext, submit: payloads.CardSubmit) -> None:
        if await self.tickets.card_submit(turn_context, submit):
            return
        log.info("teams: card action %r has no handler", submit.name)
        await send(turn_context, payloads.text_activity("That button is not available here."))

    def is_admin(self, activity: Activity) -> bool:
        sender = activity.from_property
        return bool(sender and sender.aad_object_id in self.settings.admins)

    async def on_admin_command(self, turn_context: TurnContext, command: str) -> None:
        if not self.is_admin(turn_context.activity):
            await send(
                turn_context,
                payloads.text_activity(
                    "Only administrators can run admin commands. Ask one to add your "
                    "Microsoft Entra object id to POLICYBOT_TEAMS_ADMINS."
                ),
            )
            return
        name, _, argument = command.partition(" ")
        handler = self.admin_commands.get(name.lower())
        if handler is None:
            names = ", ".join(f"`admin {n}`" for n in sorted(self.admin_commands))
            await send(turn_context, payloads.text_activity(f"Admin commands: {names}."))
            return
        await handler(turn_context, argument.strip())
