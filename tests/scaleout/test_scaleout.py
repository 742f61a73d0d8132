"""Two ``policybot serve`` processes on one Chroma server and one PostgreSQL database.

The deployment of ``deploy/compose.yaml`` on loopback (see :mod:`tests.scaleout.cluster`):
a retried Slack delivery that lands on the other process is answered once, two staff
members claiming one ticket through different processes leave one owner, and a re-ingest
while both serve switches both to the new text without a failed request.
Run alone with ``pytest -m scaleout``.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.settings import BUNDLED_SOURCES
from tests.scaleout.cluster import (
    REPO,
    SUPPORT_CHANNEL,
    Cluster,
    Server,
    dm_event,
    postgres_unreachable_reason,
    start_cluster,
)

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        postgres_unreachable_reason() is not None,
        reason=f"scale-out run needs PostgreSQL and chroma: {postgres_unreachable_reason()}",
    ),
]

QUESTION = "Can I paste customer data into ChatGPT?"
RETENTION_QUESTION = "how long are copilot chat histories kept before deletion?"
OLD_TEXT = "Microsoft 365 Copilot conversations are deleted automatically after 30 days"
NEW_TEXT = "Microsoft 365 Copilot conversations are deleted automatically after 17 days"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with start_cluster(tmp_path_factory.mktemp("scaleout")) as started:
        yield started


def sources_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text of an answer's blocks except its buttons (whose values carry answer ids)."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"actions", "context_actions"}:
                return
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return texts


def ask(cluster: Cluster, server: Server, text: str) -> dict[str, Any]:
    event = dm_event(text)
    assert cluster.post_slack(server, event).status_code == 200
    [answer] = cluster.slack.wait_posted(event["event"]["channel"])
    return answer


def test_either_process_cites_the_same_sections(cluster: Cluster) -> None:
    a, b = cluster.servers

    from_a, from_b = ask(cluster, a, QUESTION), ask(cluster, b, QUESTION)

    assert from_a["text"] == from_b["text"]
    assert sources_lines(from_a["blocks"]) == sources_lines(from_b["blocks"])
    assert "›" in " ".join(sources_lines(from_a["blocks"]))  # cites a section path


def test_a_retry_delivered_to_the_other_process_is_answered_once(cluster: Cluster) -> None:
    a, b = cluster.servers
    event = dm_event(QUESTION)
    channel = event["event"]["channel"]

    first = cluster.post_slack(a, event)
    retry = cluster.post_slack(b, event, retry_num=1)
    cluster.slack.wait_posted(channel)
    time.sleep(2.0)  # room for a duplicate to show up

    assert (first.status_code, retry.status_code) == (200, 200)
    assert len(cluster.slack.posted(channel)) == 1


def fixture(name: str) -> dict[str, Any]:
    return json.loads((REPO / "tests" / "fixtures" / "slack" / f"{name}.json").read_text())


def claim_click(cluster: Cluster, reference: str, card_ts: str, user: str) -> dict[str, Any]:
    payload = fixture("block_actions_ticket")
    payload["actions"][0]["value"] = reference
    payload["container"].update(message_ts=card_ts, channel_id=SUPPORT_CHANNEL)
    payload["user"] = {"id": f"U0{user.upper()[:6]}", "username": user, "name": user}
    payload["response_url"] = cluster.slack.api.response_url(user)
    return payload


def test_two_concurrent_claims_through_both_processes_leave_one_owner(cluster: Cluster) -> None:
    a, b = cluster.servers
    assert cluster.interact(a, fixture("view_submission_incident")).status_code == 200
    [card] = cluster.slack.wait_posted(SUPPORT_CHANNEL)
    reference = next(
        word for word in card["text"].replace("(", " ").split() if word.startswith("INC-")
    )
    clicks = [
        (a, claim_click(cluster, reference, "1760000000.000001", "ravi.support")),
        (b, claim_click(cluster, reference, "1760000000.000001", "anna.support")),
    ]
    start = threading.Barrier(2)

    def click(pair: tuple[Server, dict[str, Any]]) -> int:
        start.wait(10)
        return cluster.interact(*pair).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(click, clicks))
    refusals = wait_for_refusals(cluster, 1)

    assert statuses == [200, 200]
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            assignee = connection.execute(
                sa.text("SELECT assignee FROM tickets WHERE reference = :r"), {"r": reference}
            ).scalar_one()
            claims = connection.execute(
                sa.text(
                    "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                    "WHERE t.reference = :r AND e.action = 'claimed'"
                ),
                {"r": reference},
            ).scalar_one()
    finally:
        engine.dispose()
    assert assignee in {"ravi.support", "anna.support"}
    assert claims == 1
    [refusal] = refusals
    assert f"already claimed by {assignee}" in refusal


def wait_for_refusals(cluster: Cluster, count: int, *, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [
            str(call.args.get("text", ""))
            for call in list(cluster.slack.api.calls)
            if call.method == "response_url"
        ]
        if len(texts) >= count:
            time.sleep(1.0)  # room for a second, wrong refusal
            return [
                str(call.args.get("text", ""))
                for call in list(cluster.slack.api.calls)
                if call.method == "response_url"
            ]
        time.sleep(0.05)
    raise TimeoutError("no claim refusal was sent")


def test_a_reingest_switches_both_processes_without_a_failed_request(
    cluster: Cluster, tmp_path: Path
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    policy = sources / "example-genai-policy.md"
    text = policy.read_text(encoding="utf-8")
    assert OLD_TEXT in text
    policy.write_text(text.replace(OLD_TEXT, NEW_TEXT), encoding="utf-8")
    a, b = cluster.servers
    asked: list[tuple[Server, str, float]] = []
    failures: list[str] = []
    done = threading.Event()

    def poll() -> None:
        servers = [a, b]
        while not done.is_set() and len(asked) < 400:
            server = servers[len(asked) % 2]
            event = dm_event(RETENTION_QUESTION)
            try:
                status = cluster.post_slack(server, event).status_code
            except Exception as exc:  # any transport failure is a failed request
                failures.append(f"{server.name}: {exc!r}")
                continue
            if status != 200:
                failures.append(f"{server.name}: HTTP {status}")
            asked.append((server, event["event"]["channel"], time.monotonic()))
            time.sleep(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        report = cluster.ingest(sources)
        ingested_at = time.monotonic()
        assert report.returncode == 0, report.stderr[-2000:]
        switched: dict[str, float | None] = {a.name: None, b.name: None}
        deadline = ingested_at + 20
        while time.monotonic() < deadline and None in switched.values():
            for server, channel, at in list(asked):
                posts = cluster.slack.posted(channel)
                if posts and "17 days" in posts[0]["text"] and switched[server.name] is None:
                    switched[server.name] = at - ingested_at
            time.sleep(0.2)
    finally:
        done.set()
        poller.join(30)

    print(f"switched after the ingest exited (s): {switched}; {len(asked)} questions asked")
    assert failures == []
    assert None not in switched.values(), f"not switched within 20 s: {switched}"
    for _, channel, _ in asked:
        [answer] = cluster.slack.wait_posted(channel, timeout=60)
        assert "30 days" in answer["text"] or "17 days" in answer["text"], answer["text"]
