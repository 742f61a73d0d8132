"""``policybot serve --workers 2``: questions answered by worker processes, end to end.

One real server process (embedded Chroma, SQLite, the real model) with Slack (signed
requests, the fake Slack Web API) and Teams (the real CloudAdapter in Emulator mode, the fake
Bot Connector). Who answered is read from outside: ``/metrics`` counts answers per worker
pid, and the process tree under the server says which pids are its workers. The last test
stops the server, which finishes the work it holds, and counts the replies every question
got: no duplicate can arrive after that.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adapters.slack import render
from tests.adapters.cli.test_serve_startup import MODEL_LOAD_LINE
from tests.adapters.teams.fake_connector import FakeConnector
from tests.scaleout.cluster import (
    BOT_TOKEN,
    REPO,
    SIGNING_SECRET,
    SlackThread,
    dm_event,
    free_port,
    signed_headers,
)

START_TIMEOUT = 240.0
WAIT = 90.0
BUNDLED = REPO / "knowledge" / "sources"
NEW_POLICY = """---
title: Field Trip Rules
version: "1"
kind: policy
---
# Field Trip Rules

## Quokka photography

Staff on the island field trip may photograph quokkas with AI smart glasses only on
Tuesdays, and must never upload quokka photographs to a chatbot.
"""
NEW_QUESTION = "May I photograph quokkas with AI smart glasses on the field trip?"


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        match = re.search(r"^PPid:\s+(\d+)$", status, re.MULTILINE)
        if match and int(match.group(1)) == pid:
            found.append(int(entry.name))
    return found


@dataclass
class Served:
    root: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    url: str
    slack: SlackThread
    connector: FakeConnector
    http: httpx.Client
    asked: list[str] = field(default_factory=list)  # the channel of every Slack question
    teams_asked: list[str] = field(default_factory=list)  # and every Teams conversation

    def worker_pids(self) -> list[int]:
        """The answer workers: children of the zygote, the server's one child process."""
        return sorted(pid for zygote in children(self.process.pid) for pid in children(zygote))

    def metric(self, name: str) -> dict[str, float]:
        """``label value -> number`` for one metric (an unlabelled one under "")."""
        body = self.http.get(f"{self.url}/metrics").text
        values = {}
        for line in body.splitlines():
            match = re.fullmatch(rf'{name}(?:\{{pid="(\d+)"\}})? (\S+)', line)
            if match:
                values[match.group(1) or ""] = float(match.group(2))
        return values

    def answers_by_pid(self) -> dict[int, float]:
        return {int(pid): n for pid, n in self.metric("policybot_answer_worker_answers").items()}

    def ask_slack(self, text: str) -> str:
        """A signed DM question; its channel (acknowledged 200)."""
        payload = dm_event(text)
        body = json.dumps(payload).encode()
        response = self.http.post(
            f"{self.url}/slack/events",
            content=body,
            headers=signed_headers(body, "application/json"),
        )
        assert response.status_code == 200
        self.asked.append(str(payload["event"]["channel"]))
        return self.asked[-1]

    def answer_in(self, channel: str) -> dict:
        [post] = self.slack.wait_posted(channel, timeout=WAIT)
        return post

    def wait_until(self, condition, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{what} not seen in {WAIT} s")


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"serve not healthy in {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("workers")
    sources = root / "sources"
    shutil.copytree(BUNDLED, sources)
    slack = SlackThread()
    connector = FakeConnector()
    slack._run(connector.start())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POLICYBOT_", "SLACK_", "Microsoft"))
    }
    env.update(
        POLICYBOT_DATA_DIR=str(root / "data"),
        POLICYBOT_SOURCES=str(sources),
        POLICYBOT_LOG_LEVEL="INFO",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api.api_url,
        PYTHONPATH=str(REPO),
    )
    port = free_port()
    log = root / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(timeout=30.0)
    try:
        wait_healthy(process, url, log)
        yield Served(root, env, process, url, slack, connector, http)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        http.close()
        slack._run(connector.close())
        slack.close()


def test_the_model_is_loaded_once_in_the_server_for_its_workers(served: Served) -> None:
    log = (served.root / "serve.log").read_text(errors="replace")
    # The line whose absence test_serve_startup.py reads as "stopped before the model".
    assert log.count(MODEL_LOAD_LINE) == 1


def test_slack_and_teams_questions_are_answered_once_each_by_worker_processes(
    served: Served,
) -> None:
    workers = served.worker_pids()
    assert len(workers) == 2
    assert served.process.pid not in workers

    channels = [served.ask_slack("Can I paste customer data into ChatGPT?") for _ in range(3)]
    activity = json.loads((REPO / "tests/fixtures/teams/personal_message.json").read_text())
    activity.update(id="workers-1", serviceUrl=served.connector.url)
    activity["conversation"]["id"] = "a:workers-conversation-1"
    response = served.http.post(f"{served.url}/api/messages", json=activity)
    assert response.status_code in (200, 201)
    served.teams_asked.append("a:workers-conversation-1")

    posts = [served.answer_in(channel) for channel in channels]
    served.slack._run(
        served.connector.wait_for(
            lambda calls: any(c.type == "message" for c in calls), timeout=WAIT
        ),
        timeout=WAIT + 5,
    )
    # Each question has one reply so far; the last test checks that no other follows.
    for channel, post in zip(channels, posts, strict=True):
        assert served.slack.posted(channel) == [post]
        assert post["text"] != render.SOMETHING_WENT_WRONG_TEXT
        assert post.get("blocks")
    [teams_answer] = served.connector.sent("message")
    assert teams_answer.conversation_id == "a:workers-conversation-1"
    answered = served.answers_by_pid()
    assert sum(answered.values()) == 4
    assert set(answered) == set(workers)  # both workers took questions, nobody else did
    assert all(count >= 1 for count in answered.values())


def test_a_killed_worker_is_replaced_and_its_question_gets_the_error_reply(
    served: Served,
) -> None:
    before = served.worker_pids()
    restarts = served.metric("policybot_answer_worker_restarts")[""]
    for pid in before:  # hold both, so the next question waits inside one of them
        os.kill(pid, signal.SIGSTOP)
    try:
        channel = served.ask_slack("Which AI tools am I allowed to use at work?")
        served.wait_until(
            lambda: served.metric("policybot_answer_queue_length")[""] == 1,
            "the question in flight",
        )
    finally:
        for pid in before:
            os.kill(pid, signal.SIGKILL)

    assert served.answer_in(channel)["text"] == render.SOMETHING_WENT_WRONG_TEXT
    served.wait_until(lambda: len(served.worker_pids()) == 2, "two replacement workers")
    after = served.worker_pids()
    assert not set(after) & set(before)
    assert served.metric("policybot_answer_worker_restarts")[""] == restarts + 2

    answered_before = served.answers_by_pid()
    post = served.answer_in(served.ask_slack("Can I paste customer data into ChatGPT?"))
    assert post["text"] != render.SOMETHING_WENT_WRONG_TEXT
    answered_after = served.answers_by_pid()
    [who] = [pid for pid in after if answered_after.get(pid, 0) > answered_before.get(pid, 0)]
    assert who in after


def test_a_reingest_reaches_every_worker(served: Served) -> None:
    def cites_new_policy(post: dict) -> bool:
        return "Field Trip Rules" in json.dumps(post)

    assert not cites_new_policy(served.answer_in(served.ask_slack(NEW_QUESTION)))
    (served.root / "sources" / "field-trips.md").write_text(NEW_POLICY)
    ingest = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "ingest", "--json"],
        env=served.env,
        cwd=served.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0, ingest.stderr[-2000:]

    served.wait_until(
        lambda: cites_new_policy(served.answer_in(served.ask_slack(NEW_QUESTION))),
        "an answer from the new index",
    )
    workers = served.worker_pids()
    before = served.answers_by_pid()
    # Two questions in a row go to the two workers in turn: both answer from the new index.
    posts = [served.answer_in(served.ask_slack(NEW_QUESTION)) for _ in workers]
    after = served.answers_by_pid()
    assert all(cites_new_policy(post) for post in posts)
    assert {pid for pid in workers if after.get(pid, 0) > before.get(pid, 0)} == set(workers)


def test_after_a_graceful_stop_every_question_has_exactly_one_reply(served: Served) -> None:
    """Last in this file: stopping the server drains its answers in flight (the Slack and
    Teams background work, then the workers), so once it has exited nothing more can be
    delivered, and a duplicate of any question asked above would be counted here."""
    served.answer_in(served.ask_slack("Can I paste customer data into ChatGPT?"))
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(120) == 0

    for channel in served.asked:
        assert len(served.slack.posted(channel)) == 1
    replied = [call.conversation_id for call in served.connector.sent("message")]
    assert sorted(replied) == sorted(served.teams_asked)
