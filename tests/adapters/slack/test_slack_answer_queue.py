"""With the server's answer pool: a question is acknowledged while answers are still being
worked out, and past the queue limit it gets the short busy reply in its thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters import slack
from adapters.server import ServerContext, create_app
from bot.answering.pool import AnswerPool
from bot.assembly import build_assistant
from bot.store import open_store
from tests.adapters.slack.conftest import SlackHarness, event_payload, slack_settings
from tests.adapters.slack.fake_slack_api import FakeSlackApi


@pytest.fixture
async def queued(
    engine, slack_api: FakeSlackApi, tmp_path: Path
) -> AsyncIterator[tuple[SlackHarness, AnswerPool]]:
    core = engine.settings.model_copy(update={"data_dir": tmp_path})
    pool = AnswerPool(workers=1, queue_limit=2)
    assistant = build_assistant(engine, store=open_store(core), pool=pool)
    context = ServerContext(settings=core, engine=engine, assistant=assistant)
    app = create_app(context, [partial(slack.setup, settings=slack_settings(slack_api))])
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    harness = SlackHarness(client=client, api=slack_api, context=context)
    yield harness, pool
    await harness.close()
    pool.shutdown()


async def test_acks_while_answers_wait_and_a_full_queue_gets_the_busy_reply(queued):
    harness, pool = queued
    # The one answering thread is held: the next question waits in the queue (2 in flight).
    gate = threading.Event()
    occupying = asyncio.ensure_future(pool.run(gate.wait))
    while pool.in_flight == 0:
        await asyncio.sleep(0)
    waiting = event_payload("dm_message", channel="D0WAITING1", ts="1736929812.000100")

    acked = await harness.event(waiting)
    while pool.in_flight < 2:
        await asyncio.sleep(0.01)

    assert acked.status == 200, "acknowledged while its answer cannot start"
    assert harness.api.called("chat.postMessage") == []

    refused = event_payload("dm_message", channel="D0REFUSED1", ts="1736929812.000200")
    assert (await harness.event(refused)).status == 200
    [busy] = await harness.api.wait_for("chat.postMessage")
    assert busy.args["channel"] == "D0REFUSED1"
    assert busy.args["thread_ts"] == "1736929812.000200"
    assert "try again in a minute" in busy.args["text"]
    assert pool.refused == 1

    gate.set()
    await occupying
    calls = await harness.api.wait_for("chat.postMessage", 2)
    answer = next(c for c in calls if c.args["channel"] == "D0WAITING1")
    assert "try again in a minute" not in answer.args["text"] and answer.args.get("blocks")
