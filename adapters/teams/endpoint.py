"""``POST /api/messages`` on the project's aiohttp server.

Like ``CloudAdapter.process``, but an invoke answered without a body gets an empty body
(``CloudAdapter`` writes ``null``; Teams expects nothing for ``message/submitAction``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus

import jwt
from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from adapters.server import ServerContext
from adapters.teams import payloads
from adapters.teams.access import bearer_is_well_formed, is_loopback_host, is_loopback_url
from adapters.teams.admin import register_admin_commands
from adapters.teams.bot import PolicyTeamsBot
from adapters.teams.connector import TeamsCloudAdapter, build_adapter, send
from adapters.teams.dedupe import (
    TEAMS_LEASE,
    DedupeMiddleware,
    DeliveryClaims,
    StoreDeliveryClaims,
)
from adapters.teams.later import LaterReplies
from adapters.teams.notifier import TeamsNotifier, TicketCards
from adapters.teams.settings import TeamsSettings
from adapters.teams.support import SupportChannel
from bot.handoff.outbox import Notifiers
from bot.store.deliveries import DeliveryLedger
from bot.store.values import SharedValues

log = logging.getLogger(__name__)

ROUTE = "/api/messages"
# Answers acknowledged but not yet sent get this long at shutdown (a deploy's grace period).
DRAIN_SECONDS = 20.0
ACK_THREADS = 4
RUNTIME_KEY = "teams"
# The address ``policybot serve`` listens on (``--host``), kept in ``ServerContext.extras``.
LISTEN_HOST_KEY = "listen_host"
EMULATOR_REFUSED = (
    "teams: refused a request: MicrosoftAppId is not set (Emulator mode, no authentication) "
    "and the server does not listen on loopback. Set MicrosoftAppId and MicrosoftAppPassword "
    "from your Azure Bot resource, listen on 127.0.0.1, or set "
    "POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED=true if the network in front is trusted"
)


@dataclass
class TeamsRuntime:
    """The adapter's live parts, kept in ``ServerContext.extras["teams"]``."""

    settings: TeamsSettings
    adapter: TeamsCloudAdapter
    bot: PolicyTeamsBot
    claims: DeliveryClaims
    support: SupportChannel
    notifiers: Notifiers
    notifier: TeamsNotifier | None = None

    def serve_support_channel(self) -> None:
        """Post ticket cards from now on; only once a support channel is known, so a
        missing one never fails the deliveries of other platforms' notifiers."""
        if self.notifier is not None:
            self.notifiers.register(self.notifier, support=True)


def setup(
    app: web.Application,
    context: ServerContext,
    *,
    settings: TeamsSettings | None = None,
    claims: DeliveryClaims | None = None,
) -> None:
    """Add ``POST /api/messages``; settings are read from the environment unless given.

    The live parts are kept as :class:`TeamsRuntime` in ``context.extras["teams"]``.
    """
    settings = settings or TeamsSettings()
    if settings.auth_enabled:
        log.info("teams: Bot Framework authentication on for app id %s", settings.app_id)
    elif settings.allow_unauthenticated:
        log.warning(
            "teams: MicrosoftAppId is not set and POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED=true, "
            "so /api/messages accepts requests WITHOUT authentication from any address "
            "(replies go to loopback serviceUrls only). Set MicrosoftAppId and "
            "MicrosoftAppPassword from your Azure Bot resource before exposing this server."
        )
    else:
        log.warning(
            "teams: MicrosoftAppId is not set, so /api/messages runs in Emulator mode: "
            "without authentication, for a server listening on loopback only."
        )
    adapter = build_adapter(settings)
    adapter.on_turn_error = on_turn_error
    assistant = context.assistant
    ledger = DeliveryLedger(assistant.store)
    # The acknowledgement's own threads (body parsing, the delivery claim, the support
    # channel check): on the default executor they queue behind the connector sends of
    # answers in flight, and a burst then holds HTTP responses for seconds.
    ack_executor = ThreadPoolExecutor(max_workers=ACK_THREADS, thread_name_prefix="teams-ack")
    claims = claims or StoreDeliveryClaims(
        partial(ledger.claim, lease=TEAMS_LEASE),
        ledger.finish,
        executor=ack_executor,
    )
    adapter.use(DedupeMiddleware(claims))
    support = SupportChannel(settings, SharedValues(assistant.store.engine))
    bot = PolicyTeamsBot(assistant, settings, support)
    bot.later = LaterReplies(adapter, settings.app_id)
    bot.ack_executor = ack_executor
    runtime = TeamsRuntime(
        settings=settings,
        adapter=adapter,
        bot=bot,
        claims=claims,
        support=support,
        notifiers=assistant.notifiers,
    )
    register_admin_commands(app, runtime, context)
    runtime.notifier = TeamsNotifier(runtime, TicketCards(context.assistant.store))
    assistant.notifiers.register(runtime.notifier)
    if support.reference() is not None:
        runtime.serve_support_channel()
    else:
        log.warning(
            "teams: no support channel yet: set POLICYBOT_TEAMS_SUPPORT_CONVERSATION or "
            "send 'admin support-channel' in it"
        )
    context.extras[RUNTIME_KEY] = runtime
    app.cleanup_ctx.append(drain_answers(bot.later, ack_executor))
    app.router.add_post(
        ROUTE,
        handler(
            adapter,
            bot,
            settings,
            listen_host=context.extras.get(LISTEN_HOST_KEY),
            executor=ack_executor,
        ),
    )


def drain_answers(
    later: LaterReplies, ack_executor: ThreadPoolExecutor
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Answers acknowledged but not yet sent get ``DRAIN_SECONDS`` at shutdown."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        yield
        await later.drain(DRAIN_SECONDS)
        ack_executor.shutdown(wait=False)

    return run


def parse_activity(body: bytes) -> Activity:
    """The request body as an Activity (CPU work on up to a megabyte: run off the loop).

    Raises:
        web.HTTPBadRequest: the body is not a JSON Activity with a type.
    """
    try:
        data = json.loads(body)
        activity = Activity().deserialize(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError):
        activity = None
    if activity is None:
        raise web.HTTPBadRequest(text="the body is not an Activity")
    if not activity.type:
        raise web.HTTPBadRequest(text="the Activity has no type")
    return activity


def emulator_allowed(
    request: web.Request, settings: TeamsSettings, listen_host: str | None
) -> bool:
    """Emulator mode serves a loopback server only (or one the admin explicitly opened).

    ``listen_host`` is ``policybot serve --host``; when unknown (an embedding test server),
    the local address the request arrived on stands in for it.
    """
    if settings.allow_unauthenticated:
        return True
    if listen_host is not None:
        return is_loopback_host(listen_host)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return sockname is not None and is_loopback_host(str(sockname[0]))


def handler(
    adapter: TeamsCloudAdapter,
    bot: Bot,
    settings: TeamsSettings,
    *,
    listen_host: str | None,
    executor: Executor | None = None,
):
    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise web.HTTPUnsupportedMediaType(text="expected application/json")
        authorization = request.headers.get("Authorization", "")
        if settings.auth_enabled and not bearer_is_well_formed(authorization):
            raise web.HTTPUnauthorized(text="a Bot Framework bearer token is required")
        if not settings.auth_enabled and not emulator_allowed(request, settings, listen_host):
            log.error(EMULATOR_REFUSED)
            raise web.HTTPUnauthorized(text="authentication is not configured on this server")
        body = await request.read()
        activity = await asyncio.get_running_loop().run_in_executor(executor, parse_activity, body)
        if not settings.auth_enabled and not is_loopback_url(activity.service_url):
            log.warning("teams: Emulator mode answers a loopback serviceUrl only; refused")
            raise web.HTTPForbidden(text="without authentication, serviceUrl must be loopback")
        try:
            response = await adapter.process_activity(authorization, activity, bot.on_turn)
        except (PermissionError, jwt.PyJWTError):
            raise web.HTTPUnauthorized() from None
        return to_response(response)

    return messages


def to_response(response: InvokeResponse | None) -> web.Response:
    if response is None:
        return web.Response(status=HTTPStatus.CREATED)
    if response.body is None:
        return web.Response(status=response.status)
    return web.json_response(response.body, status=response.status)


async def on_turn_error(context: TurnContext, error: Exception) -> None:
    """Log the failure; tell the person, or fail the invoke so Teams shows its error."""
    log.error("teams: turn failed for %s activity", context.activity.type, exc_info=error)
    if context.activity.type == ActivityTypes.invoke:
        await context.send_activity(
            Activity(
                type=ActivityTypes.invoke_response,
                value=InvokeResponse(status=int(HTTPStatus.INTERNAL_SERVER_ERROR)),
            )
        )
        return
    if context.activity.type == ActivityTypes.message:
        try:
            await send(
                context,
                payloads.text_activity(
                    "Sorry, something went wrong on my side. Please try again in a minute."
                ),
            )
        except Exception as exc:  # the connector itself may be what failed
            log.error("teams: could not report the failure: %s", exc)
