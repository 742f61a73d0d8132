"""A Teams activity whose turn failed (or whose process died) is answered on the resend."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from adapters import teams
from adapters.server import ServerContext, create_app
from adapters.teams.dedupe import StoreDeliveryClaims
from adapters.teams.settings import TeamsSettings
from bot.assembly import build_assistant
from bot.store import open_store
from bot.store.deliveries import DeliveryLedger
from tests.adapters.teams.conftest import activity
from tests.adapters.teams.fake_connector import FakeConnector


async def test_a_resend_after_a_failed_turn_is_answered_and_then_dropped(
    engine, connector: FakeConnector, tmp_path: Path
):
    store = open_store(engine.settings.model_copy(update={"data_dir": tmp_path}))
    context = ServerContext(
        settings=engine.settings, engine=engine, assistant=build_assistant(engine, store=store)
    )
    # A lease already over: any claim not marked answered may be taken again at once.
    claims = StoreDeliveryClaims(
        partial(DeliveryLedger(store).claim, lease=timedelta(seconds=-1)),
        DeliveryLedger(store).finish,
    )
    setup = partial(teams.setup, settings=TeamsSettings(_env_file=None), claims=claims)
    client = TestClient(TestServer(create_app(context, [setup]), host="127.0.0.1"))
    await client.start_server()
    try:
        runtime = context.extras["teams"]
        real = runtime.bot.assistant

        class DiesMidAnswer:
            async def handle(self, message):
                raise ConnectionError("process lost its database mid-answer")

        runtime.bot.assistant = DiesMidAnswer()
        data = activity("personal_message", serviceUrl=connector.url)
        await client.post("/api/messages", json=data)
        await runtime.bot.later.drain()  # the answer fails after the acknowledgement
        runtime.bot.assistant = real
        connector.calls.clear()

        resent = await client.post("/api/messages", json=data)
        await runtime.bot.later.drain()
        assert resent.status == 201
        [answer] = connector.sent()
        assert not answer.text.startswith("Sorry, something went wrong")

        connector.calls.clear()
        again = await client.post("/api/messages", json=data)
        await runtime.bot.later.drain()
        assert again.status == 201
        assert connector.calls == [], "answered once: later resends are dropped"
    finally:
        await client.close()
        await context.assistant.flush_notifications()
        store.close()
