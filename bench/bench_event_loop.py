"""Event-loop benchmark: ``/healthz`` latency while the largest allowed body is processed.

Run: ``python bench/bench_event_loop.py`` (a minute or two: the server process loads the
model and ingests the bundled sources into a temporary folder first). Loopback only: a real
``policybot serve`` process in Emulator mode and a local fake Bot Connector.

The load: Teams activities of just under the server's 1 MiB body limit whose text is made
of ``<at>`` tags (the shape that made the old ``<at[^>]*>(.*?)</at>`` parse quadratic) and
digits that look like identifiers (work for the privacy guard), posted one after another
while ``/healthz`` is polled every 20 ms from this process. Baseline, in the same run:
the same polling with no load. Also timed here: the old regular expression against the
new scanner on a 32 KB body, in-process. Writes ``bench/results/event_loop.md``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.teams.payloads import strip_at_tags  # noqa: E402
from tests.adapters.teams.fake_connector import FakeConnector  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "teams" / "personal_message.json"
RESULTS = ROOT / "bench" / "results" / "event_loop.md"
BODY_LIMIT = 1024 * 1024
POLL_SECONDS = 0.02
LARGE_BODIES = 5
OLD_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def large_activity(service_url: str, n: int) -> bytes:
    activity = json.loads(FIXTURE.read_text())
    activity["id"] = f"large-{n}"
    activity["serviceUrl"] = service_url
    activity["text"] = ""
    empty = len(json.dumps(activity).encode())
    unit = "<at>A 9123 4567 "
    activity["text"] = unit * ((BODY_LIMIT - empty - 64) // len(unit))
    body = json.dumps(activity).encode()
    assert len(body) < BODY_LIMIT
    return body


async def poll(session: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(POLL_SECONDS)
    return latencies


async def measure(base: str, connector: FakeConnector) -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        stop = asyncio.Event()
        idle = asyncio.create_task(poll(session, f"{base}/healthz", stop))
        await asyncio.sleep(3)
        stop.set()
        baseline = await idle

        stop = asyncio.Event()
        loaded = asyncio.create_task(poll(session, f"{base}/healthz", stop))
        posts = []
        for n in range(LARGE_BODIES):
            body = large_activity(connector.url, n)
            started = time.perf_counter()
            async with session.post(
                f"{base}/api/messages", data=body, headers={"Content-Type": "application/json"}
            ) as response:
                await response.read()
                posts.append((len(body), response.status, time.perf_counter() - started))
        stop.set()
        during = await loaded
    return {"baseline": baseline, "during": during, "posts": posts}


def regex_figures() -> tuple[float, float]:
    text = "<at>A " * (32 * 1024 // 6)
    started = time.perf_counter()
    OLD_AT_TAG.sub(lambda m: m.group(1), text)
    old = time.perf_counter() - started
    started = time.perf_counter()
    strip_at_tags(text)
    return old, time.perf_counter() - started


async def main() -> None:
    connector = FakeConnector()
    await connector.start()
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "POLICYBOT_DATA_DIR": data_dir, "POLICYBOT_LOG_LEVEL": "WARNING"}
        env.pop("MicrosoftAppId", None)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapters.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=data_dir,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(600):
                    try:
                        async with session.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.5)
                else:
                    raise SystemExit("the server did not become healthy in 5 minutes")
            figures = await measure(base, connector)
        finally:
            server.terminate()
            server.wait(timeout=30)
            await connector.close()
    old, new = regex_figures()
    baseline, during = figures["baseline"], figures["during"]
    posts = figures["posts"]
    idle_median = 1000 * sorted(baseline)[len(baseline) // 2]
    busy_median = 1000 * sorted(during)[len(during) // 2]
    lines = [
        "# /healthz while the largest allowed body is processed",
        "",
        f"Server: `policybot serve` (Emulator mode, loopback); {len(posts)} Teams activities "
        f"of {posts[0][0]} bytes (limit {BODY_LIMIT}) posted one after another.",
        "",
        "| | polls | median ms | worst ms |",
        "|---|---|---|---|",
        f"| no load (baseline) | {len(baseline)} | {idle_median:.1f} "
        f"| {1000 * max(baseline):.1f} |",
        f"| during the large bodies | {len(during)} | {busy_median:.1f} "
        f"| {1000 * max(during):.1f} |",
        "",
        "Large posts (bytes, status, seconds): "
        + ", ".join(f"{size} {status} {seconds:.2f}" for size, status, seconds in posts),
        "",
        f"Mention parsing of 32 KB of `<at>` tags, in-process: old regular expression "
        f"{old * 1000:.0f} ms, new scanner {new * 1000:.2f} ms.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
