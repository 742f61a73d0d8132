"""The Bolt ``AsyncApp`` and the adapter's live parts.

Bolt's built-in middleware runs first: request verification (a bad or stale signature gets
401), URL verification, authorization, "ignore self". Then ours: the dedupe of repeated
deliveries, then the assistant panel, then the listeners.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.background import BackgroundWork
from adapters.server import ServerContext
from adapters.slack import commands, interactions, questions, web
from adapters.slack.dedupe import ClaimDelivery, DedupeMiddleware, store_claims, store_finish
from adapters.slack.settings import SlackSettings
from adapters.slack.support import PLATFORM, SlackNotifier
from bot.errors import ConfigurationError
from bot.store.deliveries import CardMemory

log = logging.getLogger(__name__)

ACK_THREADS = 4

# auth.test errors that mean the token itself is wrong, not that Slack is unreachable.
BAD_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


class SingleWorkspaceAuthorize:
    """The app's identity (bot user id, team) from one ``auth.test`` per process.

    Bolt's own single-workspace authorization calls ``auth.test`` on every request until
    the first answer is in, so a burst of events right after start-up makes one call per
    event, and Slack rate-limits ``auth.test``. Here concurrent first requests wait for one
    call; a failed call is not remembered, so the next request tries again.
    """

    def __init__(self, client: AsyncWebClient, token: str) -> None:
        self.client = client
        self.token = token
        self._result: AuthorizeResult | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> AuthorizeResult:
        async with self._lock:
            if self._result is None:
                response = await self.client.auth_test(token=self.token)
                self._result = AuthorizeResult.from_auth_test_response(
                    auth_test_response=response, bot_token=self.token
                )
        return self._result

    async def check(self) -> None:
        """Call ``auth.test`` at start-up: a wrong token stops the server with the fix; an
        unreachable Slack is logged and left to the first request to retry."""
        try:
            await self()
        except SlackApiError as exc:
            if web.error_code(exc) in BAD_TOKEN_ERRORS:
                raise ConfigurationError(
                    f"Slack rejected SLACK_BOT_TOKEN ({web.error_code(exc)}): reinstall the app "
                    "and copy the Bot User OAuth Token from OAuth & Permissions"
                ) from exc
            log.warning("slack: auth.test failed at start-up: %s", web.error_code(exc))
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: Slack is unreachable at start-up: %s", type(exc).__name__)


@dataclass
class SlackRuntime:
    """Everything the listeners share; kept in ``ServerContext.extras["slack"]``.

    ``client`` carries the bot token, for work outside a request (support-channel posts,
    DMs, Socket Mode); inside a request Bolt hands listeners a client of its own.
    """

    settings: SlackSettings
    context: ServerContext
    bolt: AsyncApp
    client: AsyncWebClient
    authorize: SingleWorkspaceAuthorize
    claims: ClaimDelivery
    notifier: SlackNotifier
    # Threads for work on the acknowledgement path only (the delivery claim).
    ack_executor: ThreadPoolExecutor
    work: BackgroundWork = field(default_factory=lambda: BackgroundWork("slack"))

    @property
    def assistant(self) -> Any:
        """The core's assistant, read at call time: the server may wrap it with observers."""
        return self.context.assistant

    @property
    def clients(self) -> tuple[AsyncWebClient, ...]:
        """Every Web API client of the adapter, for sharing one HTTP session among them."""
        return (self.client, self.bolt.client)


def build_app(
    settings: SlackSettings,
    context: ServerContext,
    *,
    claims: ClaimDelivery | None = None,
) -> SlackRuntime:
    """Build the Bolt app with every listener and register the Slack notifier with the core;
    nothing is contacted until start-up. ``claims`` defaults to the hand-off store's."""
    client = web.build_client(settings.token, settings.api_url)
    authorize = SingleWorkspaceAuthorize(client, settings.token)

    async def authorize_request() -> AuthorizeResult:
        # A plain function: Bolt passes arguments by parameter name and a bound method's
        # ``self`` would collide with them.
        return await authorize()

    bolt = AsyncApp(
        # No token on Bolt's client: each request's client gets the token from ``authorize``.
        client=web.build_client(None, settings.api_url),
        authorize=authorize_request,
        signing_secret=settings.secret,
        # In Socket Mode there is no signature: the WebSocket itself is authenticated.
        request_verification_enabled=settings.secret is not None,
        logger=web.payload_safe_logger("adapters.slack.bolt"),
        name="policybot",
    )
    ack_executor = ThreadPoolExecutor(max_workers=ACK_THREADS, thread_name_prefix="slack-ack")
    runtime = SlackRuntime(
        settings=settings,
        context=context,
        bolt=bolt,
        client=client,
        authorize=authorize,
        claims=claims or store_claims(context.assistant.store, ack_executor),
        notifier=SlackNotifier(
            client,
            settings.support_channel,
            cards=CardMemory(context.assistant.store, PLATFORM),
            zone=context.settings.zone,
        ),
        ack_executor=ack_executor,
    )
    context.assistant.notifiers.register(
        runtime.notifier, support=settings.support_channel is not None
    )
    finish = store_finish(context.assistant.store, ack_executor) if claims is None else None
    bolt.use(DedupeMiddleware(runtime.claims, finish))
    questions.register(bolt, runtime)
    commands.register(bolt, runtime)
    interactions.register(bolt, runtime)
    interactions.register_reply(bolt, runtime)
    interactions.register_assignment(bolt, runtime)
    return runtime
