"""A scale-out deployment on loopback: a Chroma server, a fresh PostgreSQL database and
``policybot serve`` processes, started with the same commands and settings as
``deploy/compose.yaml``; plus the fake Slack Web API, on a thread of its own.

Shared by ``tests/scaleout`` and ``bench/bench_scaleout.py``. Every wait is bounded, every
process is killed on :meth:`Cluster.close`, and nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
import sqlalchemy as sa
from slack_sdk.signature import SignatureVerifier

from tests.adapters.slack.fake_slack_api import FakeSlackApi

REPO = Path(__file__).resolve().parents[2]
ADMIN_DATABASE_URL = os.environ.get(
    "POLICYBOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SIGNING_SECRET = "8f742231b10e8888abcd99ae5c2dd27b"
BOT_TOKEN = "xoxb-1234567890-0987654321-policybottesttoken"
SUPPORT_CHANNEL = "C0SUPPORT1"
START_TIMEOUT = 120.0
_ids = itertools.count(1)


def serve_args(host: str, port: int | str) -> list[str]:
    """``policybot serve`` arguments; deploy/compose.yaml and deploy/Dockerfile use the same."""
    return ["serve", "--host", host, "--port", str(port)]


def chroma_args(path: str, host: str, port: int | str) -> list[str]:
    """``chroma run`` arguments; deploy/compose.yaml's Chroma server uses the same."""
    return ["run", "--path", path, "--host", host, "--port", str(port)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def chroma_command() -> str | None:
    """The ``chroma`` script of the environment running the tests (a venv's bin need not be on PATH)."""
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.exists() else shutil.which("chroma")


def postgres_unreachable_reason() -> str | None:
    """Why the scale-out run cannot use PostgreSQL, or None when it can."""
    url = sa.engine.make_url(ADMIN_DATABASE_URL)
    try:
        socket.create_connection((url.host or "127.0.0.1", url.port or 5432), 2).close()
    except OSError as exc:
        return f"PostgreSQL is not reachable at {url.host}:{url.port or 5432} ({exc})"
    if chroma_command() is None:
        return (
            "the `chroma` command (from the chromadb package) is neither beside Python nor on PATH"
        )
    return None


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """CREATE DATABASE policybot_scale_<random> on the test server; dropped afterwards."""
    admin = sa.engine.make_url(ADMIN_DATABASE_URL)
    name = f"policybot_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(admin), autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(admin), autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class SlackThread:
    """:class:`FakeSlackApi` served by an event loop on a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api: FakeSlackApi = self._run(self._start())

    async def _start(self) -> FakeSlackApi:
        api = FakeSlackApi()
        await api.start()
        return api

    def _run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.api.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """Arguments of every chat.postMessage to ``channel`` so far."""
        return [
            dict(call.args)
            for call in list(self.api.calls)
            if call.method == "chat.postMessage" and call.args.get("channel") == channel
        ]

    def wait_posted(self, channel: str, count: int = 1, *, timeout: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posts = self.posted(channel)
            if len(posts) >= count:
                return posts
            time.sleep(0.05)
        raise TimeoutError(f"{count} chat.postMessage to {channel} not seen in {timeout} s")


@dataclass
class Server:
    """One ``policybot serve`` process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def dm_event(text: str, *, channel: str | None = None, event_id: str | None = None) -> dict:
    """A Slack DM ``message`` event like tests/fixtures/slack/dm_message.json, fresh ids."""
    n = next(_ids)
    fixture = REPO / "tests" / "fixtures" / "slack" / "dm_message.json"
    payload = json.loads(fixture.read_text())
    payload["event_id"] = event_id or f"EvSCALE{uuid.uuid4().hex[:10]}"
    ts = f"{1760000000 + n}.{n:06d}"
    payload["event"].update(
        text=text,
        channel=channel or f"D0SCALE{uuid.uuid4().hex[:8].upper()}",
        ts=ts,
        event_ts=ts,
        client_msg_id=str(uuid.uuid4()),
    )
    payload["event"].pop("blocks", None)
    return payload


def signed_headers(body: bytes, content_type: str, **extra: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or "",
        **extra,
    }


@dataclass
class Cluster:
    """The running deployment; build it with :func:`start_cluster`."""

    root: Path
    env: dict[str, str]
    chroma: subprocess.Popen[bytes]
    slack: SlackThread
    servers: list[Server] = field(default_factory=list)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    @property
    def database_url(self) -> str:
        return self.env["POLICYBOT_DATABASE_URL"]

    def ingest(self, *sources: Path, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """``python ingest.py`` against the Chroma server, as the compose ``ingest`` job runs it."""
        command = [sys.executable, str(REPO / "ingest.py"), "--json"]
        for source in sources:
            command += ["--source", str(source)]
        return subprocess.run(
            command, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )

    def start_server(self, name: str, *, extra_env: dict[str, str] | None = None) -> Server:
        port = free_port()
        log = self.root / f"serve-{name}.log"
        env = {**self.env, "POLICYBOT_DATA_DIR": str(self.root / f"data-{name}")}
        env.update(extra_env or {})
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "adapters.cli", *serve_args("127.0.0.1", port)],
                env=env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name=name, port=port, process=process, log=log)
        self.servers.append(server)
        return server

    def wait_healthy(self, server: Server, *, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"serve {server.name} exited with {server.process.returncode}:\n"
                    + server.log.read_text(errors="replace")[-3000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if self.http.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.25)
        raise TimeoutError(f"serve {server.name} not healthy in {timeout} s")

    def post_slack(
        self, server: Server, payload: dict, *, retry_num: int | None = None
    ) -> httpx.Response:
        """POST an Events API payload to ``server`` signed as Slack signs it."""
        body = json.dumps(payload).encode()
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        headers = signed_headers(body, "application/json", **extra)
        return self.http.post(f"{server.url}/slack/events", content=body, headers=headers)

    def interact(self, server: Server, payload: dict) -> httpx.Response:
        """POST a block action or view submission (form-encoded ``payload=<json>``)."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = signed_headers(body, "application/x-www-form-urlencoded")
        return self.http.post(f"{server.url}/slack/events", content=body, headers=headers)

    def close(self) -> None:
        for process in [s.process for s in self.servers] + [self.chroma]:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self.http.close()
        self.slack.close()


def wait_chroma(port: int, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).is_success:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the Chroma server did not answer in {timeout} s")


@contextlib.contextmanager
def start_cluster(root: Path, *, servers: int = 2) -> Iterator[Cluster]:
    """Chroma server + fresh database + the bundled sources ingested + ``servers`` processes."""
    with fresh_database() as database_url:
        chroma_port = free_port()
        chroma_log = (root / "chroma.log").open("wb")
        chroma = subprocess.Popen(
            [
                chroma_command() or "chroma",
                *chroma_args(str(root / "chroma"), "127.0.0.1", chroma_port),
            ],
            stdout=chroma_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        slack = SlackThread()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("POLICYBOT_", "SLACK_", "Microsoft"))
        }
        env.update(
            {
                "POLICYBOT_CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
                "POLICYBOT_DATABASE_URL": database_url,
                "POLICYBOT_DATA_DIR": str(root / "data"),
                "POLICYBOT_LOG_LEVEL": "WARNING",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.api.api_url,
                "POLICYBOT_SLACK_SUPPORT_CHANNEL": SUPPORT_CHANNEL,
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "PYTHONPATH": str(REPO),
            }
        )
        cluster = Cluster(root=root, env=env, chroma=chroma, slack=slack)
        try:
            wait_chroma(chroma_port, chroma)
            report = cluster.ingest()
            if report.returncode != 0:
                raise RuntimeError(f"ingest.py exited {report.returncode}: {report.stderr[-2000:]}")
            started = [cluster.start_server(chr(ord("a") + i)) for i in range(servers)]
            for server in started:
                cluster.wait_healthy(server)
            yield cluster
        finally:
            cluster.close()
            chroma_log.close()
