"""The Bot Framework side of the adapter: ``CloudAdapter`` with auth, retries and dict payloads.

Everything that touches ``botbuilder`` objects for sending lives here, so the payload
functions stay plain dicts and the bot logic never builds SDK models by hand.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from types import SimpleNamespace
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ConversationReference, Entity, ResourceResponse
from msrest.exceptions import HttpOperationError

from adapters.teams.clients import ReusedClients
from adapters.teams.payloads import Payload
from adapters.teams.settings import TeamsSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

# The Bot Connector asks clients to back off on 429 and may fail transiently with 5xx;
# three retries with exponential backoff, honouring Retry-After up to MAX_RETRY_AFTER.
RETRIES = 3
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER = 10.0


class JsonEntity(Entity):
    """An entity that serializes exactly as given.

    botbuilder's ``Entity`` model only knows ``type``: msrest drops every other key
    (``@type``, ``additionalType``, ``citation``, ...) when it serializes an activity.
    """

    def __init__(self, payload: Payload) -> None:
        super().__init__(type=payload.get("type"))
        self._attribute_map = {"type": {"key": "type", "type": "str"}}
        for n, (key, value) in enumerate(payload.items()):
            if key != "type":
                name = f"field_{n}"
                self._attribute_map[name] = {"key": key.replace(".", "\\."), "type": "object"}
                setattr(self, name, value)


def to_activity(payload: Payload) -> Activity:
    """A botbuilder ``Activity`` from a payload dict, entities kept whole."""
    activity = Activity().deserialize(payload)
    if payload.get("entities"):
        activity.entities = [JsonEntity(entity) for entity in payload["entities"]]
    return activity


def serialize_reference(reference: ConversationReference) -> str:
    """Opaque text the core stores and hands back (``Reporter.conversation_ref``)."""
    return json.dumps(reference.serialize(), sort_keys=True)


def note_reference(reference: ConversationReference) -> str:
    """``Message.reply_to`` for Teams: the conversation reference without the person.

    A proactive send needs only the service URL, the conversation and the bot
    (``continue_conversation`` builds its activity from them; the announcements post with
    no user at all), so the user (id, name, AAD object id) and the conversation's name are
    dropped before the reference is stored.
    """
    data = reference.serialize()
    data.pop("user", None)
    conversation = {
        key: value
        for key, value in (data.get("conversation") or {}).items()
        if key in {"id", "conversationType", "isGroup", "tenantID"}
    }
    data["conversation"] = conversation
    return json.dumps(data, sort_keys=True)


def deserialize_reference(text: str) -> ConversationReference:
    return ConversationReference().deserialize(json.loads(text))


def _retry_delay(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before retrying ``exc``, or None if it is not worth retrying."""
    if isinstance(exc, HttpOperationError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if status != 429 and not (status and status >= 500):
            return None
        retry_after = (getattr(response, "headers", None) or {}).get("Retry-After")
        if retry_after:
            try:
                return min(float(retry_after), MAX_RETRY_AFTER)
            except ValueError:
                pass
        return BACKOFF_SECONDS * 2**attempt
    if isinstance(exc, ConnectionError | asyncio.TimeoutError):
        return BACKOFF_SECONDS * 2**attempt
    return None


async def with_retries(call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run ``call``, retrying connector throttling (429), 5xx and connection failures."""
    for attempt in range(RETRIES + 1):
        try:
            return await call()
        except Exception as exc:
            delay = _retry_delay(exc, attempt) if attempt < RETRIES else None
            if delay is None:
                raise
            log.warning("teams: %s failed (%s), retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class TeamsCloudAdapter(CloudAdapter):
    """``CloudAdapter`` whose sends and updates survive connector throttling and 5xx."""

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        responses: list[ResourceResponse] = []
        for activity in activities:
            sent = await with_retries(
                partial(super().send_activities, context, [activity]),
                what=f"send {activity.type}",
            )
            responses.extend(sent)
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        return await with_retries(
            lambda: super(TeamsCloudAdapter, self).update_activity(context, activity),
            what="update activity",
        )


def build_adapter(settings: TeamsSettings) -> TeamsCloudAdapter:
    """The adapter; with no app id, requests are accepted without a token (Emulator mode)."""
    configuration = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.password,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.app_tenant_id,
    )
    return TeamsCloudAdapter(ReusedClients(ConfigurationBotFrameworkAuthentication(configuration)))


async def send(context: TurnContext, payload: Payload) -> ResourceResponse | None:
    """Send a payload dict in the current turn."""
    return await context.send_activity(to_activity(payload))


async def update(context: TurnContext, activity_id: str, payload: Payload) -> None:
    """Replace a message the bot sent earlier in this conversation (e.g. a card)."""
    activity = to_activity(payload)
    activity.id = activity_id
    activity.conversation = context.activity.conversation
    await context.update_activity(activity)


async def post_proactive(
    adapter: TeamsCloudAdapter,
    reference: ConversationReference,
    payload: Payload,
    *,
    app_id: str | None,
) -> str | None:
    """Send outside any request (a report, a ticket card); returns the new activity id."""
    sent: list[ResourceResponse | None] = []

    async def deliver(context: TurnContext) -> None:
        # The continuation activity gets a random id, which would make this a reply to a
        # message that does not exist; keep the reference's own (None: a new thread).
        context.activity.id = reference.activity_id
        sent.append(await send(context, payload))

    await adapter.continue_conversation(reference, deliver, bot_app_id=app_id)
    return sent[0].id if sent and sent[0] else None


async def update_proactive(
    adapter: TeamsCloudAdapter,
    reference: ConversationReference,
    activity_id: str,
    payload: Payload,
    *,
    app_id: str | None,
) -> None:
    """Replace a message the bot posted earlier, outside any request."""

    async def replace(context: TurnContext) -> None:
        await update(context, activity_id, payload)

    await adapter.continue_conversation(reference, replace, bot_app_id=app_id)
