"""Bolt's scenario-test pattern: the real app behind the real server, Slack played locally.

The project's aiohttp server (with the Slack adapter) listens on a loopback port; requests
are signed with the signing secret exactly as Slack signs them; ``SLACK_API_URL`` points
the Web API client at :class:`FakeSlackApi`, which records every call.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier

from adapters import slack
from adapters.server import ServerContext, create_app
from adapters.slack.app import SlackRuntime
from adapters.slack.dedupe import ClaimDelivery
from adapters.slack.settings import SlackSettings
from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.store import open_store
from tests.adapters.slack.fake_slack_api import FakeSlackApi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "slack"
SIGNING_SECRET = "8f742231b10e8888abcd99ae5c2dd27b"
BOT_TOKEN = "xoxb-1234567890-0987654321-policybottesttoken"
APP_TOKEN = "xapp-1-A0POLICYBOT-1234567890-policybotapptoken"
ADMIN = "U0ADMIN001"
SUPPORT_CHANNEL = "C0SUPPORT1"
_ids = itertools.count(1)


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def event_payload(name: str, *, event_id: str | None = None, **event: Any) -> dict[str, Any]:
    """An Events API fixture with a fresh ``event_id`` (unless given) and event fields set."""
    data = fixture(name)
    data["event_id"] = event_id or f"{data['event_id']}{next(_ids):05d}"
    data["event"].update(event)
    return data


@dataclass
class Posted:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class SlackHarness:
    client: TestClient
    api: FakeSlackApi
    context: ServerContext

    @property
    def runtime(self) -> SlackRuntime:
        return self.context.extras["slack"]

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: dict[str, str] | None = None,
    ) -> Posted:
        """POST ``body`` to /slack/events signed as Slack signs it (v0, HMAC-SHA256)."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        response = await self.client.post(
            "/slack/events",
            data=body.encode(),
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature or "",
                **(headers or {}),
            },
        )
        return Posted(response.status, await response.text())

    async def event(self, payload: dict[str, Any], *, retry_num: int | None = None) -> Posted:
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(payload), "application/json", headers=headers)

    async def command(self, text: str, **fields: str) -> Posted:
        data = {
            **fixture("slash_command"),
            "text": text,
            "response_url": self.api.response_url(),
            **fields,
        }
        return await self.post(urlencode(data), "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> Posted:
        """A block action or view submission: form-encoded ``payload=<json>``."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def settle(self) -> None:
        """Let every answer and notification started after an acknowledgement finish."""
        await self.runtime.work.drain(30)
        await self.context.assistant.flush_notifications()

    async def close(self) -> None:
        await self.settle()
        await self.client.close()
        self.context.assistant.store.close()


def slack_settings(api: FakeSlackApi, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": BOT_TOKEN,
        "signing_secret": SIGNING_SECRET,
        "api_url": api.api_url,
        "support_channel": SUPPORT_CHANNEL,
        "admins": ADMIN,
    }
    values.update(overrides)
    return SlackSettings(_env_file=None, **values)


@pytest.fixture(autouse=True)
def no_slack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set every Slack setting themselves; the machine's environment must not leak in."""
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "POLICYBOT_SLACK_SUPPORT_CHANNEL",
        "POLICYBOT_SLACK_ADMINS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    await api.start()
    yield api
    await api.close()


async def start_harness(
    engine: Engine,
    api: FakeSlackApi,
    settings: SlackSettings,
    data_dir: Path,
    *,
    claims: ClaimDelivery | None = None,
) -> SlackHarness:
    """The server on loopback, with a hand-off store of its own in ``data_dir``."""
    core = engine.settings.model_copy(update={"data_dir": data_dir})
    assistant = build_assistant(engine, store=open_store(core))
    context = ServerContext(settings=core, engine=engine, assistant=assistant)
    app = create_app(context, [partial(slack.setup, settings=settings, claims=claims)])
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return SlackHarness(client=client, api=api, context=context)


@pytest.fixture
async def harness(
    engine: Engine, slack_api: FakeSlackApi, tmp_path: Path
) -> AsyncIterator[SlackHarness]:
    started = await start_harness(engine, slack_api, slack_settings(slack_api), tmp_path)
    yield started
    await started.close()
