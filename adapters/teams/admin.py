"""Admin commands in chat (``admin reingest``); only ids in ``POLICYBOT_TEAMS_ADMINS`` run them."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import ConversationReference

from adapters.teams import payloads
from adapters.teams.connector import post_proactive, send

if TYPE_CHECKING:
    from adapters.server import ServerContext
    from adapters.teams.endpoint import TeamsRuntime

log = logging.getLogger(__name__)


class Reingest:
    """Re-ingest the configured sources off the event loop; post the report when done.

    The request is answered at once: an ingest can outlast Teams' 15-second wait, and the
    report arrives as a proactive message in the same conversation.
    """

    def __init__(self, runtime: TeamsRuntime, context: ServerContext) -> None:
        self.runtime = runtime
        self.engine = context.engine
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, turn_context: TurnContext, argument: str) -> None:
        if self.task is not None and not self.task.done():
            await send(turn_context, payloads.text_activity("A re-ingestion is already running."))
            return
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        await send(
            turn_context,
            payloads.text_activity("Re-ingesting the sources; I'll post the report here."),
        )
        self.task = asyncio.create_task(self.run(reference))

    async def run(self, reference: ConversationReference) -> None:
        try:
            report = await asyncio.to_thread(self.engine.ingest, trigger="teams")
            text = payloads.ingest_report_text(report.as_json())
        except Exception as exc:  # report any failure to the admin who asked
            log.exception("teams: re-ingestion failed")
            text = f"Re-ingestion failed: {exc}"
        try:
            await post_proactive(
                self.runtime.adapter,
                reference,
                payloads.text_activity(text),
                app_id=self.runtime.settings.app_id,
            )
        except Exception:
            log.exception("teams: could not post the re-ingestion report")

    async def wait(self, app: web.Application | None = None) -> None:
        """Let a running ingest finish before the server shuts down."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


async def set_support_channel(runtime: TeamsRuntime, turn_context: TurnContext) -> None:
    """``admin support-channel``, sent in a channel: ticket cards will be posted there."""
    activity = turn_context.activity
    if activity.conversation.conversation_type != "channel":
        text = "Send `admin support-channel` in the Teams channel where tickets should go."
    else:
        await asyncio.to_thread(runtime.support.set_from, activity)
        runtime.serve_support_channel()
        text = "Done: incidents, escalations and negative feedback will be posted here."
    await send(turn_context, payloads.text_activity(text))


def register_admin_commands(
    app: web.Application, runtime: TeamsRuntime, context: ServerContext
) -> None:
    reingest = Reingest(runtime, context)
    app.on_cleanup.append(reingest.wait)
    runtime.bot.admin_commands["reingest"] = reingest
    runtime.bot.admin_commands["support-channel"] = lambda turn_context, argument: (
        set_support_channel(runtime, turn_context)
    )
