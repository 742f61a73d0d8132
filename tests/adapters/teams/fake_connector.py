"""A local stand-in for the Bot Connector service (the activity's ``serviceUrl``).

It answers like the real one (``{"id": ...}``) and records every request the bot makes
under ``/v3/conversations``, so a test can read exactly what was sent, in order. Failures
(429, 5xx) can be queued to exercise the bot's retries.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Call:
    """One request the bot made: method, conversation id, activity id (if any) and body."""

    method: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    returned_id: str | None = None
    received_at: float = field(default_factory=time.perf_counter, compare=False)

    @property
    def type(self) -> str | None:
        return self.body.get("type")

    @property
    def text(self) -> str:
        return self.body.get("text") or ""

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    # The Microsoft identity platform's token endpoint (``/{tenant}/oauth2/v2.0/token``):
    # app id -> client secret it accepts; every request is kept in ``token_requests``.
    app_secrets: dict[str, str] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/"))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/v3/conversations/{tail:.*}", self._handle)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` instead of handling them."""
        self.failures.extend([(status, headers or {})] * times)

    async def _handle(self, request: web.Request) -> web.Response:
        if self.failures:
            status, headers = self.failures.pop(0)
            return web.json_response(
                {"error": {"code": "Throttled", "message": "try later"}},
                status=status,
                headers=headers,
            )
        parts = request.match_info["tail"].split("/")
        conversation_id = parts[0]
        activity_id = parts[2] if len(parts) > 2 and parts[1] == "activities" else None
        body = await request.json() if request.can_read_body else {}
        returned = activity_id if request.method == "PUT" else f"bot-activity-{next(self._ids)}"
        async with self._changed:
            self.calls.append(Call(request.method, conversation_id, activity_id, body, returned))
            self._changed.notify_all()
        return web.json_response({"id": returned})

    async def _token(self, request: web.Request) -> web.Response:
        """Client credentials as the identity platform answers them (invalid_client, ...)."""
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.token_requests.append({**form, "tenant": request.match_info["tenant"]})
        client_id = form.get("client_id", "")
        if client_id not in self.app_secrets:
            return web.json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier "
                    f"'{client_id}' was not found in the directory.",
                },
                status=400,
            )
        if form.get("client_secret") != self.app_secrets[client_id]:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
                status=401,
            )
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": "fake-" + client_id}
        )

    def sent(self, kind: str | None = "message") -> list[Call]:
        """Activities the bot sent (POSTs), optionally of one type."""
        return [c for c in self.calls if c.method == "POST" and (kind is None or c.type == kind)]

    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT"]

    async def wait_for(
        self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0
    ) -> list[Call]:
        """Wait until ``predicate(calls)`` holds; the calls so far otherwise fail the test."""

        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.calls))

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"connector never saw the expected calls: {self.calls}") from None
        return self.calls
