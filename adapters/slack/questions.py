"""Questions from Slack: a DM with the app, an @mention in a channel, the assistant panel.

Each listener runs after Bolt has acknowledged the event (Events API listeners are
acknowledged automatically) and only starts the answer as background work, so nothing here
holds up an acknowledgement. Answers go in a thread under the question.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import (
    AsyncApp,
    AsyncAssistant,
    AsyncBoltContext,
    AsyncSay,
    AsyncSetStatus,
    AsyncSetSuggestedPrompts,
)
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import events, render, web
from bot.models import Message

if TYPE_CHECKING:
    from adapters.slack.app import SlackRuntime

log = logging.getLogger(__name__)


async def answer(
    runtime: SlackRuntime,
    client: AsyncWebClient,
    message: Message,
    *,
    surface: str,
) -> None:
    """Ask the core and post its reply in the question's thread.

    Logs the outcome (surface, status, timing), never the question or who asked.
    """
    started = time.perf_counter()
    channel = message.conversation_id
    if not message.text:
        await web.post_or_apologise(
            lambda: client.chat_postMessage(
                channel=channel, thread_ts=message.thread_id, text=render.GREETING
            )
        )
        return
    try:
        reply = await runtime.assistant.handle(message)
    except Exception:  # any core failure: tell the employee, keep the server answering
        log.exception("slack: the assistant failed on a %s question", surface)
        await web.post_or_apologise(
            lambda: client.chat_postMessage(
                channel=channel, thread_ts=message.thread_id, text=render.SOMETHING_WENT_WRONG_TEXT
            )
        )
        return
    ts = await web.post_reply(
        client,
        channel=channel,
        thread_ts=message.thread_id,
        reply=reply,
        action_value=render.encode_action_value(answer_id=reply.answer_id, question=message.text),
    )
    log.info(
        "slack: answered a %s question",
        surface,
        extra={
            "surface": surface,
            "status": reply.status.value if reply.status else None,
            "posted": ts is not None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def register(bolt: AsyncApp, runtime: SlackRuntime) -> None:
    """Add the question listeners (assistant panel first: it claims threaded DM messages)."""
    bolt.assistant(assistant_panel(runtime))

    @bolt.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext):
        # Every message event lands here (edits, deletions, joins too); only a person's new
        # message in a DM with the app is a question. The rest is acknowledged and ignored.
        if not events.is_direct_question(event):
            return
        message = events.message_from_event(event, bot_user_id=context.bot_user_id)
        runtime.work.spawn(answer(runtime, client, message, surface="dm"), name="answer_dm")

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext):
        if not events.is_person_message(event):
            return
        message = events.message_from_event(event, bot_user_id=context.bot_user_id)
        runtime.work.spawn(
            answer(runtime, client, message, surface="mention"), name="answer_mention"
        )


def assistant_panel(runtime: SlackRuntime) -> AsyncAssistant:
    """The app's agent/assistant panel: a greeting, suggested prompts, a status while searching."""
    assistant = AsyncAssistant(logger=web.payload_safe_logger("adapters.slack.assistant"))

    @assistant.thread_started
    async def started(say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts) -> None:
        await say(render.GREETING)
        await set_suggested_prompts(prompts=render.suggested_prompts(), title="Try asking")

    @assistant.user_message
    async def user_message(
        payload: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
        set_status: AsyncSetStatus,
    ) -> None:
        if not events.is_person_message(payload):
            return
        try:
            await set_status(render.WORKING_STATUS)
        except SlackApiError as exc:
            # A thread the panel did not start (a reply under an old answer in the DM) has
            # no status line; the answer still goes out.
            log.debug("slack: no assistant status: %s", web.error_code(exc))
        message = events.message_from_event(payload, bot_user_id=context.bot_user_id)
        runtime.work.spawn(
            answer(runtime, client, message, surface="assistant"), name="answer_assistant"
        )

    return assistant
