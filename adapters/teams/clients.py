"""Connector and user-token clients reused across turns, not built for every activity.

``CloudAdapter`` asks its ``BotFrameworkAuthentication`` for a new ``ConnectorClient`` and a
new ``UserTokenClient`` on every incoming activity. Building one is CPU work on the event
loop, dominated by msrest's retry-policy set-up (measured with py-spy over a burst of 200
activities: 77% of the loop's samples, about 10 ms per activity), so a burst's HTTP
responses queued behind each other's client construction. The clients are safe to share:
they hold the endpoint, the credentials (which cache and renew their own tokens) and the
retry policy, nothing of a turn. :class:`ReusedClients` wraps the configured
authentication and keeps the clients it built, per app id, service URL and audience; every
decision (request authentication, caller id, which credentials) stays with the wrapped one.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from botbuilder.schema import Activity
from botframework.connector import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

# Distinct (app id, service URL, audience) triples kept; Teams uses a few service URLs.
MAX_CLIENTS = 64


class _Bounded(OrderedDict[tuple[Any, ...], Any]):
    def remember(self, key: tuple[Any, ...], value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_CLIENTS:
            self.popitem(last=False)
        return value

    def recall(self, key: tuple[Any, ...]) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


def _app_id(identity: ClaimsIdentity | None) -> str | None:
    if identity is None or not identity.claims:
        return None
    return JwtTokenValidation.get_app_id_from_claims(identity.claims)


class _ReusedConnectors(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, app_id: str | None, cache: _Bounded) -> None:
        self.inner = inner
        self.app_id = app_id
        self.cache = cache

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        key = ("connector", self.app_id, service_url, audience)
        client = self.cache.recall(key)
        if client is None:
            client = self.cache.remember(key, await self.inner.create(service_url, audience))
        return client


class ReusedClients(BotFrameworkAuthentication):
    """``inner``'s decisions, with the clients it creates kept and reused."""

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self.inner = inner
        self.cache = _Bounded()

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        result = await self.inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _ReusedConnectors(
                result.connector_factory, _app_id(result.claims_identity), self.cache
            )
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self.inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusedConnectors(
            self.inner.create_connector_factory(claims_identity),
            _app_id(claims_identity),
            self.cache,
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = ("user-token", _app_id(claims_identity))
        client = self.cache.recall(key)
        if client is None:
            client = self.cache.remember(
                key, await self.inner.create_user_token_client(claims_identity)
            )
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)

    async def generate_caller_id(self, **kwargs: Any) -> str:
        return await self.inner.generate_caller_id(**kwargs)
