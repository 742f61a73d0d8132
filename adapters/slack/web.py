"""The one place the adapter reaches Slack's Web API: the client, its retries, and posting.

``SLACK_API_URL`` is the client's base URL (GovSlack, a proxy, a local server in tests).
Rate limits (HTTP 429 with ``Retry-After``), Slack's 500/503 and dropped connections are
retried with backoff and logged; an answer that still cannot be posted is logged with
Slack's error code and replaced, when Slack lets us post at all, by a short apology.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render
from bot.models import Reply

log = logging.getLogger(__name__)

# Slack's advice for 429s is to wait Retry-After and try again; three tries cover a burst.
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15


def payload_safe_logger(name: str) -> logging.Logger:
    """A logger for Bolt or slack_sdk that never goes below INFO.

    Both log whole request and response bodies at DEBUG (questions, modal inputs, Socket
    Mode envelopes); employees' messages must not reach the logs even when an admin turns
    the server's log level down to DEBUG.
    """
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger


def _method(request: HttpRequest) -> str:
    return request.url.rsplit("/", 1)[-1]


class _Logged:
    """Mixin: log each retry (the method and why, never the request body)."""

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        log.warning(
            "slack: retrying %s after %s",
            _method(request),
            f"HTTP {response.status_code}" if response is not None else type(error).__name__,
            extra={"attempt": state.current_attempt + 1},
        )
        await super().prepare_for_next_attempt_async(  # type: ignore[misc]
            state=state, request=request, response=response, error=error
        )


class LoggedRateLimitRetryHandler(_Logged, AsyncRateLimitErrorRetryHandler):
    pass


class LoggedServerErrorRetryHandler(_Logged, AsyncServerErrorRetryHandler):
    pass


class LoggedConnectionErrorRetryHandler(_Logged, AsyncConnectionErrorRetryHandler):
    pass


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        LoggedConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        LoggedRateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        LoggedServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]


def build_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client on ``base_url``; the server shares one aiohttp session with it."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
        logger=payload_safe_logger("adapters.slack.web_api"),
    )


def error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else "unknown_error"


async def post_reply(
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str | None,
    reply: Reply,
    action_value: str = "",
) -> str | None:
    """Post ``reply`` as Block Kit in ``channel`` (in ``thread_ts``); the message ts, or None.

    If Slack refuses the answer (after the client's own retries), the employee gets a
    short apology in the same place, if Slack accepts that.
    """
    blocks = render.reply_blocks(reply, action_value=action_value)
    return await post_or_apologise(
        lambda: client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=render.reply_text(reply),
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        ),
        lambda: client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render.ANSWER_FAILED_TEXT
        ),
    )


async def post_or_apologise(
    post: Callable[[], Awaitable[Any]], apologise: Callable[[], Awaitable[Any]] | None = None
) -> str | None:
    """Run ``post``; if Slack refuses it or cannot be reached, log why and run ``apologise``
    (if given). Returns the posted message's ts, or None."""
    try:
        response = await post()
        return response.get("ts") if hasattr(response, "get") else None
    except SlackApiError as exc:
        log.error("slack: could not post an answer: %s", error_code(exc))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.error("slack: could not post an answer: %s", type(exc).__name__)
    if apologise is None:
        return None
    try:
        await apologise()
    except SlackApiError as exc:
        log.error("slack: could not post the apology either: %s", error_code(exc))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.error("slack: could not post the apology either: %s", type(exc).__name__)
    return None
