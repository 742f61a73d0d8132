"""Socket Mode: the same app over a WebSocket, with Slack's retries deduped the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.answering.engine import Engine
from tests.adapters.slack.conftest import (
    APP_TOKEN,
    SlackHarness,
    event_payload,
    slack_settings,
    start_harness,
)
from tests.adapters.slack.fake_slack_api import FakeSlackApi


@pytest.fixture
async def socket_harness(
    engine: Engine, slack_api: FakeSlackApi, tmp_path: Path
) -> AsyncIterator[SlackHarness]:
    settings = slack_settings(slack_api, app_token=APP_TOKEN, signing_secret=None)
    started = await start_harness(engine, slack_api, settings, tmp_path)
    await slack_api.wait_connected()
    yield started
    await started.close()


async def test_socket_mode_answers_and_drops_the_retry(socket_harness: SlackHarness) -> None:
    api = socket_harness.api
    payload = event_payload("dm_message")

    first = await api.send_envelope(payload)
    retry = await api.send_envelope(payload, retry_attempt=1)
    acks = [await api.wait_ack(first), await api.wait_ack(retry)]
    await api.wait_for("chat.postMessage")
    await socket_harness.settle()

    assert [a["envelope_id"] for a in acks] == [first, retry]
    assert len(api.called("chat.postMessage")) == 1
    assert api.called("apps.connections.open")[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"


async def test_socket_mode_without_a_signing_secret_has_no_http_endpoint(
    socket_harness: SlackHarness,
) -> None:
    response = await socket_harness.client.post("/slack/events", data="{}")

    assert response.status == 404


async def test_health_reports_the_socket_mode_connection(socket_harness: SlackHarness) -> None:
    response = await socket_harness.client.get("/healthz")

    assert (await response.json())["checks"]["slack_socket_mode"] == "ok"
