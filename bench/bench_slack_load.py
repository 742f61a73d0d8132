"""Slack load benchmark: 200 concurrent events, each acknowledged within Slack's 3 seconds.

Run: ``python bench/bench_slack_load.py [--events 200]`` (about a minute on 2 cores, most of
it the server loading the model and ingesting). Whole-process and loopback only: the real
``policybot serve`` in a child process, with ``SLACK_API_URL`` pointing at a fake Slack Web
API in this process (``tests/adapters/slack/fake_slack_api.py``), which also sends the
signed requests as Slack would. Nothing leaves the machine and every wait is bounded; the
server is stopped with SIGTERM, so answers still in flight are drained, then counted.

Slack retries an event whose acknowledgement takes longer than 3 s, so the figure that
matters is the acknowledgement latency of every one of the concurrent events. Each question
is also delivered a second time, concurrently, as Slack's retry (``X-Slack-Retry-Num: 1``):
exactly one answer per question must reach the Web API. Baseline, in the same run and the
same server: as many concurrent events that need no answer (message edits), so the ratio
shows what the answering load adds to an acknowledgement. Writes
``bench/results/slack_load.md`` and prints it; exits 1 if a requirement is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.answering.evaluation import latency_summary  # noqa: E402
from tests.adapters.slack.fake_slack_api import FakeSlackApi  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
FIXTURES = ROOT / "tests" / "fixtures" / "slack"
RESULTS = ROOT / "bench" / "results" / "slack_load.md"
SECRET = "bench-signing-secret-0123456789ab"
SLACK_ACK_SECONDS = 3.0
START_TIMEOUT_SECONDS = 300.0
PHASE_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 60.0
WARM_UP = 10


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def questions(n: int, *, prefix: str = "LOAD") -> list[dict]:
    """``n`` DM questions, one DM per simulated employee, as 200 people asking at once."""
    texts = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    out = []
    for i in range(n):
        payload = fixture("dm_message")
        payload["event_id"] = f"Ev0{prefix}{i:05d}"
        payload["event"].update(
            text=texts[i % len(texts)],
            user=f"U0{prefix}{i:05d}",
            channel=f"D0{prefix}{i:05d}",
            ts=f"1736929812.{i:06d}",
            event_ts=f"1736929812.{i:06d}",
        )
        out.append(payload)
    return out


def edits(n: int) -> list[dict]:
    """``n`` message edits: events the server acknowledges and ignores (the baseline)."""
    out = []
    for i in range(n):
        payload = fixture("message_changed")
        payload["event_id"] = f"Ev0EDIT{i:05d}"
        out.append(payload)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_server(api: FakeSlackApi, workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "POLICYBOT_", "Microsoft"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api.api_url,
        POLICYBOT_DATA_DIR=str(workdir / "data"),
        POLICYBOT_LOG_LEVEL="WARNING",
    )
    log = (workdir / "server.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=workdir,  # no .env from the repository
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited; see {workdir / 'server.log'}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return process, base
            await asyncio.sleep(0.5)
    process.kill()
    raise TimeoutError(f"the server did not start within {START_TIMEOUT_SECONDS:.0f} s")


async def stop_server(process: asyncio.subprocess.Process) -> int:
    """SIGTERM: aiohttp shuts down and the adapter drains the answers in flight."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode or 0


async def deliver_all(
    url: str, deliveries: list[tuple[dict, int]]
) -> tuple[dict[tuple[str, int], tuple[int, float]], dict[str, float]]:
    """POST every ``(payload, retry_num)`` at once, signed; the status and ack time of each."""
    verifier = SignatureVerifier(SECRET)
    acks: dict[tuple[str, int], tuple[int, float]] = {}
    sent_at: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def deliver(payload: dict, retry: int) -> None:
            body = json.dumps(payload)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
            }
            if retry:
                headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            started = time.perf_counter()
            sent_at.setdefault(payload["event"]["channel"] + payload["event"]["ts"], started)
            async with session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                acks[(payload["event_id"], retry)] = (
                    response.status,
                    time.perf_counter() - started,
                )

        await asyncio.wait_for(
            asyncio.gather(*(deliver(p, r) for p, r in deliveries)), PHASE_TIMEOUT_SECONDS
        )
    return acks, sent_at


async def run(n: int) -> tuple[str, bool]:
    api = FakeSlackApi()
    await api.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            process, base = await start_server(api, Path(tmp))
            url = f"{base}/slack/events"
            try:
                # The server loads parts of the model on its first questions; warm it first.
                await deliver_all(url, [(p, 0) for p in questions(WARM_UP, prefix="WARM")])
                await api.wait_for("chat.postMessage", WARM_UP, timeout=PHASE_TIMEOUT_SECONDS)
                baseline, _ = await deliver_all(url, [(p, 0) for p in edits(n)])
                batch = questions(n)
                started = time.perf_counter()
                acks, sent_at = await deliver_all(url, [(p, r) for p in batch for r in (0, 1)])
                acked = time.perf_counter() - started
                # A second wave while the first one's answers are still being worked out:
                # its acknowledgements must not wait behind that backlog.
                late, _ = await deliver_all(url, [(p, 0) for p in questions(n, prefix="LATE")])
                await api.wait_for(
                    "chat.postMessage", WARM_UP + 2 * n, timeout=PHASE_TIMEOUT_SECONDS
                )
                answered = time.perf_counter() - started
            finally:
                exit_code = await stop_server(process)
    finally:
        await api.close()
    all_posts = api.called("chat.postMessage")
    posts = [c for c in all_posts if c.args["channel"].startswith("D0LOAD")]
    late_posts = [c for c in all_posts if c.args["channel"].startswith("D0LATE")]
    answer = [call.at - sent_at[call.args["channel"] + call.args["thread_ts"]] for call in posts]
    first = [s for (_, retry), (_, s) in acks.items() if retry == 0]
    retries = [s for (_, retry), (_, s) in acks.items() if retry == 1]
    base_acks = [s for _, s in baseline.values()]
    late_acks = [s for _, s in late.values()]
    answered_acks = [*acks.values(), *late.values()]
    statuses = sorted({status for status, _ in (*answered_acks, *baseline.values())})
    over_3s = sum(1 for _, s in answered_acks if s >= SLACK_ACK_SECONDS)
    distinct = len({call.args["channel"] for call in posts})
    with_blocks = sum(1 for call in posts if call.args.get("blocks"))
    ok = (
        over_3s == 0
        and len(posts) == n
        and distinct == n
        and len(late_posts) == n
        and statuses == [200]
    )
    rows = ["| measure | p50 s | p95 s | p99 s | max s |", "|---|---|---|---|---|"]
    for name, figures in (
        ("ack of a question (first delivery)", latency_summary(first)),
        ("ack of its retry (X-Slack-Retry-Num: 1)", latency_summary(retries)),
        ("ack of a second wave, sent while the first is answered", latency_summary(late_acks)),
        ("answer reaches the Web API (chat.postMessage)", latency_summary(answer)),
        ("baseline: ack of an event needing no answer", latency_summary(base_acks)),
    ):
        rows.append(
            f"| {name} | {figures['p50']:.3f} | {figures['p95']:.3f} | {figures['p99']:.3f} "
            f"| {figures['max']:.3f} |"
        )
    ratio = latency_summary(first)["p99"] / latency_summary(base_acks)["p99"]
    rows += [
        "",
        f"`policybot serve` in its own process, warmed with {WARM_UP} questions; "
        f"{n} concurrent questions plus {n} concurrent "
        f"retries of them, then {n} more questions: {over_3s} acks at or over 3 s; HTTP "
        f"statuses {statuses}; {len(posts)} answers to the first wave ({distinct} distinct DMs, "
        f"{with_blocks} with Block Kit) and {len(late_posts)} to the second; first wave acked "
        f"within {acked:.2f} s, both waves answered within {answered:.2f} s "
        f"({2 * n / answered:.0f} answers/s); server exit code {exit_code} after SIGTERM. "
        f"Ack p99 ratio to the no-answer baseline: {ratio:.2f}. "
        f"{'PASS' if ok else 'FAIL'}: every ack under 3 s and exactly one answer per question.",
    ]
    return "\n".join(rows) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    table, ok = asyncio.run(run(args.events))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table)
    print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
