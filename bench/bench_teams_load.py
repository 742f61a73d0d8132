"""Teams load benchmark: 200 concurrent activities, each must be answered within 15 seconds.

Run: ``python bench/bench_teams_load.py [--activities 200]`` (about a minute on 2 cores,
most of it loading the model and ingesting). Loopback only: the real aiohttp server with the
Teams adapter (``CloudAdapter``, Emulator mode) and a local fake Bot Connector; nothing
leaves the machine, and every wait is bounded.

Teams resends a request it has no answer to after 15 s, so the figure that matters is the
time from posting an activity to the bot's answer reaching the connector, for every one of
the concurrent activities. Baseline, in the same run: the same questions through
``Assistant.handle`` alone, equally concurrent, to show what the adapter and HTTP add.
Writes ``bench/results/teams_load.md`` and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import teams  # noqa: E402
from adapters.server import ServerContext, create_app  # noqa: E402
from adapters.teams.settings import TeamsSettings  # noqa: E402
from bot.answering.engine import build_engine  # noqa: E402
from bot.answering.evaluation import latency_summary  # noqa: E402
from bot.assembly import build_assistant  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.models import Message  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.adapters.teams.fake_connector import FakeConnector  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
FIXTURE = ROOT / "tests" / "fixtures" / "teams" / "personal_message.json"
RESULTS = ROOT / "bench" / "results" / "teams_load.md"
TEAMS_RESEND_SECONDS = 15.0
OVERALL_TIMEOUT_SECONDS = 300.0


def activities(n: int) -> list[dict]:
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    template = json.loads(FIXTURE.read_text())
    out = []
    for i in range(n):
        activity = json.loads(json.dumps(template))
        activity["id"] = f"load-{i}"
        activity["text"] = questions[i % len(questions)]
        # One chat per simulated employee, as 200 people asking at once would be.
        activity["conversation"]["id"] = f"a:load-conversation-{i}"
        out.append(activity)
    return out


async def baseline(assistant: Assistant, batch: list[dict]) -> list[float]:
    async def one(activity: dict) -> float:
        started = time.perf_counter()
        await assistant.handle(
            Message(
                text=activity["text"],
                user_id=activity["from"]["aadObjectId"],
                platform="teams",
                conversation_id=activity["conversation"]["id"],
            )
        )
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(a) for a in batch)))


async def load(context: ServerContext, batch: list[dict]) -> dict[str, object]:
    connector = FakeConnector()
    await connector.start()
    settings = TeamsSettings(_env_file=None, app_id=None)
    server = TestServer(
        create_app(context, [partial(teams.setup, settings=settings)]), host="127.0.0.1"
    )
    await server.start_server()
    posted_at: dict[str, float] = {}
    responded: dict[str, tuple[int, float]] = {}
    url = str(server.make_url("/api/messages"))
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def post(activity: dict) -> None:
                activity = {**activity, "serviceUrl": connector.url}
                posted_at[activity["id"]] = time.perf_counter()
                async with session.post(url, json=activity) as response:
                    await response.read()
                    responded[activity["id"]] = (response.status, time.perf_counter())

            started = time.perf_counter()
            await asyncio.wait_for(
                asyncio.gather(*(post(a) for a in batch)), OVERALL_TIMEOUT_SECONDS
            )
            wall = time.perf_counter() - started
    finally:
        await server.close()
        await connector.close()
    ids = [a["id"] for a in batch]
    answered_at: dict[str, float] = {}
    for call in connector.sent("message"):
        answered_at.setdefault(call.activity_id or "", call.received_at)
    answer = [answered_at[i] - posted_at[i] for i in ids if i in answered_at]
    http = [responded[i][1] - posted_at[i] for i in ids if i in responded]
    return {
        "answered": len(answer),
        "statuses": sorted({status for status, _ in responded.values()}),
        "over_15s": sum(1 for t in answer if t > TEAMS_RESEND_SECONDS) + (len(ids) - len(answer)),
        "answer": latency_summary(answer),
        "http": latency_summary(http),
        "wall": wall,
        "typing": len(connector.sent("typing")),
    }


async def run(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), _env_file=None)
        engine = build_engine(settings)
        engine.ingest()
        assistant = build_assistant(engine)
        context = ServerContext(settings=settings, engine=engine, assistant=assistant)
        batch = activities(n)
        await baseline(assistant, batch[:20])  # warm the model and the thread pool
        base = await baseline(assistant, batch)
        result = await load(context, batch)
    base_stats = latency_summary(base)
    rows = [
        "| measure | p50 s | p95 s | p99 s | max s |",
        "|---|---|---|---|---|",
    ]
    for name, figures in (
        ("answer reaches the connector (Teams)", result["answer"]),
        ("HTTP response to Teams", result["http"]),
        ("baseline: Assistant.handle alone", base_stats),
    ):
        rows.append(
            f"| {name} | {figures['p50']:.2f} | {figures['p95']:.2f} | {figures['p99']:.2f} "
            f"| {figures['max']:.2f} |"
        )
    ratio = result["answer"]["p99"] / base_stats["p99"]
    rows.append("")
    rows.append(
        f"{n} concurrent activities, {result['answered']} answered, {result['over_15s']} later "
        f"than 15 s or never; HTTP statuses {result['statuses']}; all answered in "
        f"{result['wall']:.2f} s ({n / result['wall']:.0f} activities/s); "
        f"{result['typing']} typing indicators. p99 ratio to the core-only baseline: {ratio:.2f}."
    )
    return "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=200)
    args = parser.parse_args()
    table = asyncio.run(run(args.activities))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
