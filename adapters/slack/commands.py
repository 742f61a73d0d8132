"""``/genai-policy QUESTION | report | feedback COMMENT | help | reingest``.

A slash command must be acknowledged within 3 seconds, and whatever the acknowledgement
carries is shown at once (ephemerally). So each subcommand acknowledges first, with a
short text where that helps, and does its slow part (answering, re-ingesting) as
background work, replying through the command's ``response_url``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import events, interactions, render
from bot.handoff.ports import Reporter
from bot.models import Message

if TYPE_CHECKING:
    from adapters.slack.app import SlackRuntime

log = logging.getLogger(__name__)

COMMAND = "/genai-policy"
NOT_ADMIN_TEXT = (
    "Sorry, only the bot's administrators can re-ingest the policies. If you think you "
    "should be one, ask them to add your Slack member id to POLICYBOT_SLACK_ADMINS."
)
FEEDBACK_USAGE_TEXT = (
    "Write your feedback after the command, for example "
    "`/genai-policy feedback the policy should allow Copilot for interns`."
)
REINGEST_STARTED_TEXT = "Re-ingesting the policy sources; I'll post the report here when done."
REINGEST_RUNNING_TEXT = "A re-ingestion is already running; I'll post its report when it ends."


def subcommand(name: str):
    """A listener matcher for ``/genai-policy NAME ...``."""

    async def matches(command: dict[str, Any]) -> bool:
        return events.parse_command(command.get("text")).name == name

    return matches


def admins_only(admins: frozenset[str]):
    """Listener middleware: let configured admins through, politely refuse everyone else."""

    async def check(context: AsyncBoltContext, ack: AsyncAck, next: Any) -> BoltResponse | None:
        if context.user_id in admins:
            await next()
            return None
        log.info("slack: refused an admin command to a non-admin")
        return await ack(text=NOT_ADMIN_TEXT, response_type="ephemeral")

    return check


async def respond_reply(respond: AsyncRespond, message: Message, runtime: SlackRuntime) -> None:
    """Answer a slash-command question ephemerally through its ``response_url``."""
    try:
        reply = await runtime.assistant.handle(message)
    except Exception:  # any core failure: tell the employee, keep the server answering
        log.exception("slack: the assistant failed on a slash-command question")
        await respond(text=render.SOMETHING_WENT_WRONG_TEXT, response_type="ephemeral")
        return
    response = await respond(
        text=render.reply_text(reply),
        blocks=render.reply_blocks(
            reply,
            action_value=render.encode_action_value(
                answer_id=reply.answer_id, question=message.text
            ),
        ),
        response_type="ephemeral",
        unfurl_links=False,
    )
    if response.status_code != 200:
        log.error("slack: response_url refused the answer: HTTP %s", response.status_code)
        await respond(text=render.ANSWER_FAILED_TEXT, response_type="ephemeral")
    log.info(
        "slack: answered a command question",
        extra={"surface": "command", "status": reply.status.value if reply.status else None},
    )


class Reingest:
    """Re-ingest the configured sources off the event loop, one run at a time per process."""

    def __init__(self, runtime: SlackRuntime) -> None:
        self.runtime = runtime
        self.lock = asyncio.Lock()

    async def __call__(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        if self.lock.locked():
            await ack(text=REINGEST_RUNNING_TEXT, response_type="ephemeral")
            return
        await ack(text=REINGEST_STARTED_TEXT, response_type="ephemeral")
        self.runtime.work.spawn(self.run(respond), name="reingest")

    async def run(self, respond: AsyncRespond) -> None:
        async with self.lock:
            try:
                report = await asyncio.to_thread(
                    self.runtime.context.engine.ingest, trigger="slack"
                )
                text = render.ingest_report_text(report.as_json())
            except Exception as exc:  # report any failure to the admin who asked
                log.exception("slack: re-ingestion failed")
                text = f"Re-ingestion failed: {exc}"
        await respond(text=text, response_type="ephemeral")


def register(bolt: AsyncApp, runtime: SlackRuntime) -> None:
    reingest = Reingest(runtime)

    @bolt.command(
        COMMAND,
        matchers=[subcommand("reingest")],
        middleware=[admins_only(runtime.settings.admins)],
    )
    async def reingest_command(ack: AsyncAck, respond: AsyncRespond) -> None:
        await reingest(ack, respond)

    @bolt.command(COMMAND, matchers=[subcommand("help")])
    async def help_command(ack: AsyncAck) -> None:
        await ack(text=render.HELP_TEXT, response_type="ephemeral")

    @bolt.command(COMMAND, matchers=[subcommand("report")])
    async def report(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = command.get("channel_id")
        opened = await interactions.open_incident_modal(
            runtime, client, command["trigger_id"], channel
        )
        if not opened and channel:
            await client.chat_postEphemeral(
                channel=channel, user=command["user_id"], text=interactions.TRIGGER_EXPIRED_TEXT
            )

    @bolt.command(COMMAND, matchers=[subcommand("feedback")])
    async def feedback(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = events.parse_command(command.get("text")).argument
        if not text:
            await ack(text=FEEDBACK_USAGE_TEXT, response_type="ephemeral")
            return
        await ack()
        reporter = Reporter(
            platform=events.PLATFORM,
            user_id=command["user_id"],
            conversation_ref=events.dm_channel(command.get("channel_id")),
        )

        async def send() -> None:
            reply = await runtime.assistant.general_feedback(
                reporter,
                text,
                idempotency_key=interactions.key("feedback", command.get("trigger_id")),
            )
            await interactions.tell(respond, reply)

        runtime.work.spawn(send(), name="general_feedback")

    @bolt.command(COMMAND, matchers=[subcommand("ask")])
    async def ask(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        question = events.parse_command(command.get("text")).argument
        message = events.message_from_command(command, question)
        runtime.work.spawn(respond_reply(respond, message, runtime), name="answer_command")
