"""A real console server on loopback, run in a background thread, for browser tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.server import ServerContext


@dataclass
class LiveServer:
    url: str
    context: ServerContext
    loop: asyncio.AbstractEventLoop
    runner: web.AppRunner
    thread: threading.Thread

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the server's loop (for coroutines that touch its state)."""

        async def wrapper() -> Any:
            result = function()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout=60)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def start_live_server(app: web.Application, context: ServerContext, *, port: int = 0) -> LiveServer:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="console-server", daemon=True)
    thread.start()
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        return int(runner.addresses[0][1])

    bound = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=60)
    return LiveServer(f"http://127.0.0.1:{bound}", context, loop, runner, thread)
