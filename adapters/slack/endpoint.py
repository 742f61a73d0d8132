"""The Slack adapter on the project's aiohttp server: ``POST /slack/events`` and Socket Mode.

HTTP mode (``SLACK_SIGNING_SECRET`` set): Events API, interactivity and slash commands all
arrive at ``POST /slack/events`` and are handed to Bolt as they are, in the same few lines
as Bolt's own aiohttp adapter. Socket Mode (``SLACK_APP_TOKEN`` set): the process opens a
WebSocket to Slack at start-up and the same Bolt app receives the same payloads through it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from adapters.server import ServerContext
from adapters.slack.app import SlackRuntime, build_app
from adapters.slack.dedupe import ClaimDelivery
from adapters.slack.settings import SlackSettings

log = logging.getLogger(__name__)

ROUTE = "/slack/events"
RUNTIME_KEY = "slack"
# Answers in flight at shutdown get this long to be posted (a deploy's grace period).
DRAIN_SECONDS = 20.0


def setup(
    app: web.Application,
    context: ServerContext,
    *,
    settings: SlackSettings | None = None,
    claims: ClaimDelivery | None = None,
) -> None:
    """Add the Slack adapter; settings are read from the environment unless given.

    The live parts are kept as :class:`SlackRuntime` in ``context.extras["slack"]``.
    """
    settings = settings or SlackSettings()
    runtime = build_app(settings, context, claims=claims)
    context.extras[RUNTIME_KEY] = runtime
    if settings.secret is not None:
        app.router.add_post(ROUTE, handler(runtime.bolt))
        log.info("slack: HTTP mode on %s, Web API at %s", ROUTE, settings.api_url)
    app.cleanup_ctx.append(lifecycle(runtime))


def handler(bolt: AsyncApp) -> Callable[[web.Request], Coroutine[Any, Any, web.Response]]:
    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    return slack_events


def lifecycle(
    runtime: SlackRuntime,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Share one HTTP session among the Web API clients; check the token; run Socket Mode;
    let answers in flight finish at shutdown."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession()
        for client in runtime.clients:
            client.session = session
        socket_mode = None
        try:
            await runtime.authorize.check()
            if runtime.settings.app_token is not None:
                socket_mode = AsyncSocketModeHandler(
                    runtime.bolt,
                    runtime.settings.app_token.get_secret_value(),
                    web_client=runtime.client,
                )
                await socket_mode.connect_async()
                runtime.context.extras.setdefault("health_checks", {})["slack_socket_mode"] = (
                    _socket_probe(socket_mode)
                )
                log.info("slack: Socket Mode connected, Web API at %s", runtime.settings.api_url)
            yield
        finally:
            if socket_mode is not None:
                await socket_mode.close_async()
            await runtime.work.drain(DRAIN_SECONDS)
            # Ticket cards and DMs the drained work queued go out before the session closes.
            await runtime.assistant.flush_notifications()
            runtime.ack_executor.shutdown(wait=False)
            for client in runtime.clients:
                client.session = None
            await session.close()

    return run


def _socket_probe(socket_mode: AsyncSocketModeHandler) -> Callable[[], Coroutine[Any, Any, None]]:
    async def probe() -> None:
        if not await socket_mode.client.is_connected():
            raise ConnectionError("the Socket Mode WebSocket is not connected")

    return probe
