"""A local HTTP server that plays Slack: the Web API, ``response_url`` hooks, Socket Mode.

Like bolt-python's ``tests/mock_web_api_server.py``: it answers as Slack does
(``{"ok": true, ...}``) and records every call, so a test can count what the app sent.
Failures are injected per method: an ``{"ok": false, "error": ...}`` answer, or an HTTP 429
with ``Retry-After``. The WebSocket at ``/link`` plays Socket Mode: ``apps.connections.open``
returns its URL, and :meth:`FakeSlackApi.send_envelope` pushes a payload through it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER_ID = "U0BOTPOLICY"
BOT_ID = "B0BOTPOLICY"
TEAM_ID = "T0HARBOUR"


@dataclass
class Call:
    """One request the fake received: the Web API method (or ``response_url``) and its args."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Failure:
    times: int
    error: str | None = None
    status: int = 200
    retry_after: int | None = None


@dataclass
class FakeSlackApi:
    host: str = "127.0.0.1"
    calls: list[Call] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    # What ``x-oauth-scopes`` reports for the token (Slack sends it on every Web API answer).
    scopes: tuple[str, ...] = (
        "app_mentions:read",
        "assistant:write",
        "channels:read",
        "chat:write",
        "commands",
        "groups:read",
        "im:history",
    )
    # conversations.info: channel id -> (name, whether the bot is a member); others not found.
    channels: dict[str, tuple[str, bool]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._failures: dict[str, list[Failure]] = defaultdict(list)
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._web_api)
        app.router.add_post("/response/{hook}", self._response_url)
        app.router.add_get("/link", self._socket_mode)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, hook: str = "hook") -> str:
        return f"{self.url}/response/{hook}"

    # -- failure injection ----------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error"}``."""
        self._failures[method].append(Failure(times=times, error=error))

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 0) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        self._failures[method].append(
            Failure(times=times, error="ratelimited", status=429, retry_after=retry_after)
        )

    def _take_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    # -- queries --------------------------------------------------------------------------

    def effects(self) -> list[Call]:
        """Every call but ``auth.test`` (which Bolt makes once, to learn the bot's own id)."""
        return [call for call in self.calls if call.method != "auth.test"]

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, method: str, count: int = 1, *, timeout: float = 30.0) -> list[Call]:
        """The first ``count`` calls of ``method``, waiting for them if needed."""

        async def enough() -> list[Call]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.called(method)) >= count)
            return self.called(method)[:count]

        return await asyncio.wait_for(enough(), timeout)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -- the Web API ----------------------------------------------------------------------

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        await self._record(Call(method, args, dict(request.headers)))
        failure = self._take_failure(method)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        return web.json_response(
            self._answer(method, args), headers={"x-oauth-scopes": ",".join(self.scopes)}
        )

    def _next_ts(self) -> str:
        return f"1760000000.{next(self._ts):06d}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://harbourview.slack.com/",
                "team": "Harbourview",
                "user": "policybot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "ts": ts,
                "text": args.get("text", ""),
                "blocks": args.get("blocks", []),
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": args.get("ts"),
                "text": args.get("text", ""),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.open", "views.update", "views.push"):
            view = dict(args.get("view") or {})
            view.update({"id": "V" + uuid.uuid4().hex[:10].upper(), "team_id": TEAM_ID})
            return {"ok": True, "view": view}
        if method == "conversations.info":
            known = self.channels.get(str(args.get("channel")))
            if known is None:
                return {"ok": False, "error": "channel_not_found"}
            name, member = known
            return {
                "ok": True,
                "channel": {"id": args["channel"], "name": name, "is_member": member},
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://{self.host}:{self.port}/link"}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await _read_args(request)
        await self._record(Call("response_url", args, dict(request.headers)))
        failure = self._take_failure("response_url")
        if failure is not None:
            return web.Response(status=404, text="expired_url")
        return web.Response(text="ok")

    # -- Socket Mode ----------------------------------------------------------------------

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}
        )
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    async with self._changed:
                        self.acks.append(json.loads(message.data))
                        self._changed.notify_all()
                elif message.type == WSMsgType.PING:
                    await socket.pong(message.data)
        finally:
            self._sockets.remove(socket)
        return socket

    async def wait_connected(self, *, timeout: float = 10.0) -> None:
        async def connected() -> None:
            while not self._sockets:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(connected(), timeout)

    async def send_envelope(
        self, payload: dict[str, Any], *, kind: str = "events_api", retry_attempt: int = 0
    ) -> str:
        """Push ``payload`` to the connected app as Slack's Socket Mode does; its envelope id."""
        envelope_id = str(uuid.uuid4())
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    async def wait_ack(self, envelope_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        async def acked() -> dict[str, Any]:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: any(a.get("envelope_id") == envelope_id for a in self.acks)
                )
            return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

        return await asyncio.wait_for(acked(), timeout)


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Web API arguments as Slack reads them: a JSON body, or a form whose JSON-valued
    fields (``blocks``, ``view``, ...) are decoded."""
    if request.content_type == "application/json":
        data = await request.json() if request.can_read_body else {}
        return dict(data or {})
    form = await request.post()
    args: dict[str, Any] = {}
    for key, value in form.items():
        text = str(value)
        if text[:1] in "[{":
            try:
                args[key] = json.loads(text)
                continue
            except ValueError:
                pass
        args[key] = text
    return args
