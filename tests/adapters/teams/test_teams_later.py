"""A Teams question is acknowledged before it is answered; the answer follows through the
connector, once; a full answer queue gets a short busy reply."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from adapters import teams
from adapters.server import ServerContext, create_app
from adapters.teams.settings import TeamsSettings
from bot.answering.pool import AnswerPool
from bot.assembly import build_assistant
from bot.store import open_store
from bot.store.schema import ProcessedEventRow
from tests.adapters.teams.conftest import TeamsHarness, activity
from tests.adapters.teams.fake_connector import FakeConnector


class HeldAssistant:
    """The real assistant, whose answers wait until the test lets them go."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.release = asyncio.Event()
        self.started = 0

    async def handle(self, message):
        self.started += 1
        await self.release.wait()
        return await self.real.handle(message)


def delivery_states(harness: TeamsHarness) -> list[str]:
    table = ProcessedEventRow.__table__
    with harness.assistant.store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c["state"]).where(table.c["platform"] == "teams")
        ).all()
    return [row[0] for row in rows]


async def test_a_question_gets_its_http_response_before_its_answer_and_one_answer(
    harness: TeamsHarness,
):
    held = HeldAssistant(harness.runtime.bot.assistant)
    harness.runtime.bot.assistant = held
    question = activity("personal_message")

    response = await harness.client.post(
        "/api/messages", json={**question, "serviceUrl": harness.connector.url}
    )

    # The response came while the answer was still held: nothing was sent yet.
    assert response.status == 201
    assert held.started == 1
    assert harness.connector.sent("message") == []
    # The delivery is claimed but not marked answered until the reply is out, so a crash
    # now would leave a resend answerable; a resend now (within the lease) is dropped.
    assert delivery_states(harness) != [] and "answered" not in delivery_states(harness)
    resend = await harness.client.post(
        "/api/messages", json={**question, "serviceUrl": harness.connector.url}
    )
    assert resend.status == 201
    assert held.started == 1

    held.release.set()
    await harness.answers_sent()

    [answer] = harness.connector.sent("message")
    assert answer.activity_id == question["id"], "threaded under the question"
    assert answer.body.get("entities"), "a cited answer"
    assert delivery_states(harness) == ["answered"]


@pytest.fixture
async def small_queue(
    engine, connector: FakeConnector, tmp_path: Path
) -> AsyncIterator[tuple[TestClient, AnswerPool, ServerContext]]:
    core = engine.settings.model_copy(update={"data_dir": tmp_path})
    pool = AnswerPool(workers=1, queue_limit=1)
    assistant = build_assistant(engine, store=open_store(core), pool=pool)
    context = ServerContext(settings=core, engine=engine, assistant=assistant)
    setup = partial(teams.setup, settings=TeamsSettings(_env_file=None))
    client = TestClient(TestServer(create_app(context, [setup]), host="127.0.0.1"))
    await client.start_server()
    yield client, pool, context
    await client.close()
    await assistant.flush_notifications()
    assistant.store.close()
    pool.shutdown()


async def test_a_full_answer_queue_gets_the_busy_reply(small_queue, connector: FakeConnector):
    client, pool, context = small_queue
    # One question already in flight fills a queue of one.
    gate = threading.Event()
    occupying = asyncio.ensure_future(pool.run(gate.wait))
    while pool.in_flight == 0:
        await asyncio.sleep(0)

    response = await client.post(
        "/api/messages", json=activity("personal_message", serviceUrl=connector.url)
    )
    await context.extras["teams"].bot.later.drain()

    assert response.status == 201
    [reply] = connector.sent("message")
    assert "try again in a minute" in reply.text
    assert pool.refused == 1
    gate.set()
    await occupying

    # With the queue free again the same kind of question is answered.
    connector.calls.clear()
    await client.post("/api/messages", json=activity("personal_message", serviceUrl=connector.url))
    await context.extras["teams"].bot.later.drain()
    [answer] = connector.sent("message")
    assert "try again in a minute" not in answer.text and answer.body.get("entities")
