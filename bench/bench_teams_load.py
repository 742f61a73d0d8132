"""Teams load benchmark: 200 concurrent activities, each must be answered within 15 seconds.

Run: ``python bench/bench_teams_load.py [--activities 200]`` (about a minute on 2 cores,
most of it loading the model and ingesting). Loopback only: the real aiohttp server with the
Teams adapter (``CloudAdapter``, Emulator mode) and a local fake Bot Connector; nothing
leaves the machine, and every wait is bounded.

Teams resends a request it has no HTTP response to after 15 s. Two phases in one run, same
questions, same process: *today* (answered inside the request on the default executor,
torch's default threads, one model call per question) and *this branch* (acknowledged once
claimed and answered through the connector afterwards; the answer pool; batched question
embeddings; one torch thread). Per phase: HTTP response time, time until the answer reaches
the connector, answers per second, CPU per answer (this whole process: server and load
generator) and resident memory. Baseline, in the same run: the same questions through
``Assistant.handle`` alone. Writes ``bench/results/teams_load.md`` and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
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
from bot.answering.pool import AnswerPool  # noqa: E402
from bot.assembly import build_assistant  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.models import Message  # noqa: E402
from bot.settings import Settings  # noqa: E402
from knowledge.batching import set_torch_threads  # noqa: E402
from tests.adapters.teams.fake_connector import FakeConnector  # noqa: E402

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
FIXTURE = ROOT / "tests" / "fixtures" / "teams" / "personal_message.json"
RESULTS = ROOT / "bench" / "results" / "teams_load.md"
TEAMS_RESEND_SECONDS = 15.0
OVERALL_TIMEOUT_SECONDS = 300.0


def activities(n: int, prefix: str = "load") -> list[dict]:
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    template = json.loads(FIXTURE.read_text())
    out = []
    for i in range(n):
        activity = json.loads(json.dumps(template))
        activity["id"] = f"{prefix}-{i}"
        activity["text"] = questions[i % len(questions)]
        # One chat per simulated employee, as 200 people asking at once would be.
        activity["conversation"]["id"] = f"a:{prefix}-conversation-{i}"
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


async def load(context: ServerContext, batch: list[dict], *, later: bool) -> dict[str, object]:
    connector = FakeConnector()
    await connector.start()
    settings = TeamsSettings(_env_file=None, app_id=None)
    server = TestServer(
        create_app(context, [partial(teams.setup, settings=settings)]), host="127.0.0.1"
    )
    await server.start_server()
    if not later:
        context.extras["teams"].bot.later = None  # today: answered inside the request
    posted_at: dict[str, float] = {}
    responded: dict[str, tuple[int, float]] = {}
    url = str(server.make_url("/api/messages"))
    cpu_before = time.process_time()
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
            await connector.wait_for(
                lambda calls: sum(1 for c in calls if c.type == "message") >= len(batch),
                timeout=OVERALL_TIMEOUT_SECONDS,
            )
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu_before
    finally:
        await server.close()
        await connector.close()
    ids = [a["id"] for a in batch]
    answered_at: dict[str, float] = {}
    counts: dict[str, int] = {}
    for call in connector.sent("message"):
        answered_at.setdefault(call.activity_id or "", call.received_at)
        counts[call.activity_id or ""] = counts.get(call.activity_id or "", 0) + 1
    answer = [answered_at[i] - posted_at[i] for i in ids if i in answered_at]
    http = [responded[i][1] - posted_at[i] for i in ids if i in responded]
    return {
        "answered": len(answer),
        "once": sum(1 for i in ids if counts.get(i) == 1),
        "busy": sum(1 for c in connector.sent("message") if "try again in a minute" in c.text),
        "statuses": sorted({status for status, _ in responded.values()}),
        "over_15s": sum(1 for t in answer if t > TEAMS_RESEND_SECONDS) + (len(ids) - len(answer)),
        "answer": latency_summary(answer),
        "http": latency_summary(http),
        "wall": wall,
        "cpu": cpu,
        "rss": resident_mb(),
        "typing": len(connector.sent("typing")),
    }


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(n: int) -> str:
    import torch

    default_threads = torch.get_num_threads()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), _env_file=None)
        engine = build_engine(settings)
        engine.ingest()
        # Today: torch's default threads, answers on the default executor, one call each.
        assistant = build_assistant(engine)
        context = ServerContext(settings=settings, engine=engine, assistant=assistant)
        await baseline(assistant, activities(20, "warm"))  # warm the model and the threads
        base = await baseline(assistant, activities(n, "base"))
        results["today"] = await load(context, activities(n, "today"), later=False)
        # This branch: serve's defaults (see adapters/cli/serve.build_context).
        set_torch_threads(settings.torch_threads)
        engine.batch_questions(
            window=settings.embed_batch_window_ms / 1000, max_batch=settings.embed_batch_size
        )
        pool = AnswerPool(workers=settings.answer_workers, queue_limit=settings.answer_queue_limit)
        assistant = build_assistant(engine, pool=pool)
        context = ServerContext(settings=settings, engine=engine, assistant=assistant)
        await baseline(assistant, activities(20, "warm2"))
        results["this branch"] = await load(context, activities(n, "new"), later=True)
        pool.shutdown()
    base_stats = latency_summary(base)
    load_avg = os.getloadavg()[0]
    lines = [
        "# Teams: 200 concurrent message activities",
        "",
        f"`python bench/bench_teams_load.py --activities {n}`: the real aiohttp server with "
        "the Teams adapter (CloudAdapter, Emulator mode) and a fake Bot Connector, all in one "
        "process; both phases in the same run. 2 cores shared with 4 other jobs (load "
        f"average {load_avg:.1f} at the end): compare the phases, not the seconds. torch's "
        f"default threads here: {default_threads}.",
        "",
        "| phase | HTTP p50 / p99 s | answer p50 / p99 / max s | answered once | later than "
        "15 s or never | answers/s | CPU ms per answer (whole process) | RSS MB | busy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['http']['p50']:.2f} / {r['http']['p99']:.2f} "
            f"| {r['answer']['p50']:.2f} / {r['answer']['p99']:.2f} / {r['answer']['max']:.2f} "
            f"| {r['once']} of {n} | {r['over_15s']} | {n / r['wall']:.1f} "
            f"| {r['cpu'] / n * 1000:.1f} | {r['rss']:.0f} | {r['busy']} |"
        )
    before, after = results["today"], results["this branch"]
    lines += [
        "",
        f"Baseline, `Assistant.handle` alone ({n} concurrent, today's settings): p50 "
        f"{base_stats['p50']:.2f} s, p99 {base_stats['p99']:.2f} s. HTTP statuses: today "
        f"{before['statuses']}, this branch {after['statuses']}; typing indicators: today "
        f"{before['typing']}, this branch {after['typing']}. This branch / today: HTTP p99 "
        f"{after['http']['p99'] / before['http']['p99']:.2f}x, answers/s "
        f"{before['wall'] / after['wall']:.2f}x, CPU per answer "
        f"{after['cpu'] / before['cpu']:.2f}x.",
    ]
    return "\n".join(lines) + "\n"


async def served_phase(
    n: int, workdir: Path, *, root: Path, tag: str, env: dict[str, str | None] | None = None
) -> dict[str, object]:
    """``policybot serve`` (the code under ``root``, with ``env`` added to its environment)
    in its own process, Teams in Emulator mode on loopback; the load generator and the fake
    connector in this process."""
    import bench_slack_load as slack_bench

    connector = FakeConnector()
    await connector.start()
    api = slack_bench.FakeSlackApi()  # unused by a Teams-only server; keeps the helper whole
    await api.start()
    server_env: dict[str, str | None] = {
        "SLACK_BOT_TOKEN": None,
        "SLACK_SIGNING_SECRET": None,
        **(env or {}),
    }
    process, base = await slack_bench.start_server(api, workdir, root=root, extra_env=server_env)
    url = f"{base}/api/messages"
    posted_at: dict[str, float] = {}
    responded: dict[str, tuple[int, float]] = {}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def post(activity: dict) -> None:
                activity = {**activity, "serviceUrl": connector.url}
                posted_at[activity["id"]] = time.perf_counter()
                async with session.post(url, json=activity) as response:
                    await response.read()
                    responded[activity["id"]] = (response.status, time.perf_counter())

            warm = activities(10, f"warm{tag}")
            await asyncio.gather(*(post(a) for a in warm))
            await connector.wait_for(
                lambda calls: sum(1 for c in calls if c.type == "message") >= len(warm),
                timeout=OVERALL_TIMEOUT_SECONDS,
            )
            connector.calls.clear()
            batch = activities(n, f"served{tag}")
            cpu_before = slack_bench.cpu_seconds(process.pid)
            own_before = slack_bench.own_cpu_seconds()
            started = time.perf_counter()
            await asyncio.wait_for(
                asyncio.gather(*(post(a) for a in batch)), OVERALL_TIMEOUT_SECONDS
            )
            await connector.wait_for(
                lambda calls: sum(1 for c in calls if c.type == "message") >= n,
                timeout=OVERALL_TIMEOUT_SECONDS,
            )
            wall = time.perf_counter() - started
            cpu = slack_bench.cpu_seconds(process.pid) - cpu_before
            own_cpu = slack_bench.own_cpu_seconds() - own_before
            rss, peak = slack_bench.resident_mb(process.pid)
            processes = 1 + len(slack_bench.descendants(process.pid))
    finally:
        await slack_bench.stop_server(process)
        await connector.close()
        await api.close()
    ids = [a["id"] for a in batch]
    answered_at: dict[str, float] = {}
    counts: dict[str, int] = {}
    for call in connector.sent("message"):
        answered_at.setdefault(call.activity_id or "", call.received_at)
        counts[call.activity_id or ""] = counts.get(call.activity_id or "", 0) + 1
    answer = [answered_at[i] - posted_at[i] for i in ids if i in answered_at]
    http = [responded[i][1] - posted_at[i] for i in ids if i in responded]
    return {
        "answered": len(answer),
        "once": sum(1 for i in ids if counts.get(i) == 1),
        "busy": sum(1 for c in connector.sent("message") if "try again in a minute" in c.text),
        "statuses": sorted({status for status, _ in responded.values()}),
        "over_15s": sum(1 for t in answer if t > TEAMS_RESEND_SECONDS) + (len(ids) - len(answer)),
        "answer": latency_summary(answer),
        "http": latency_summary(http),
        "wall": wall,
        "cpu": cpu,
        "bench_cpu": own_cpu,
        "processes": processes,
        "rss": rss,
        "peak": peak,
        "typing": len(connector.sent("typing")),
    }


async def run_served(n: int, today_root: Path) -> str:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["today"] = await served_phase(n, workdir, root=today_root, tag="A")
        results["this branch"] = await served_phase(n, workdir, root=ROOT, tag="B")
    load_avg = os.getloadavg()[0]
    lines = [
        "# Teams: 200 concurrent message activities to `policybot serve`",
        "",
        f"`python bench/bench_teams_load.py --activities {n} --today-root DIR`: the real "
        "`policybot serve` in its own process (Teams in Emulator mode on loopback), first "
        "today's code (`git archive` of the branch point), then this branch, same data "
        "folder; the load generator and a fake Bot Connector in the benchmark process. "
        f"2 cores shared with 4 other jobs (load average {load_avg:.1f} at the end): "
        "compare the phases, not the seconds. CPU is the server process's, from `/proc`.",
        "",
        "| server | HTTP p50 / p99 s | answer p50 / p99 / max s | answered once | later than "
        "15 s or never | answers/s | CPU ms per answer | RSS MB (peak) | busy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['http']['p50']:.2f} / {r['http']['p99']:.2f} "
            f"| {r['answer']['p50']:.2f} / {r['answer']['p99']:.2f} / {r['answer']['max']:.2f} "
            f"| {r['once']} of {n} | {r['over_15s']} | {n / r['wall']:.1f} "
            f"| {r['cpu'] / n * 1000:.1f} | {r['rss']:.0f} ({r['peak']:.0f}) | {r['busy']} |"
        )
    before, after = results["today"], results["this branch"]
    lines += [
        "",
        f"HTTP statuses: today {before['statuses']}, this branch {after['statuses']}; typing "
        f"indicators: today {before['typing']}, this branch {after['typing']}. This branch / "
        f"today: HTTP p99 {after['http']['p99'] / before['http']['p99']:.2f}x, answers/s "
        f"{before['wall'] / after['wall']:.2f}x, CPU per answer "
        f"{after['cpu'] / before['cpu']:.2f}x.",
    ]
    return "\n".join(lines) + "\n"


WORKER_ORDER = (0, 2, 2, 0)


async def run_workers(n: int) -> str:
    """``policybot serve --workers 0`` and ``--workers 2`` in turn (0, 2, 2, 0) on one index
    built beforehand, so that no server ingests at start-up."""
    import bench_workers

    results: list[tuple[int, dict]] = []
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_workers.ingest(workdir)
        for turn, workers in enumerate(WORKER_ORDER):
            env: dict[str, str | None] = {"POLICYBOT_ANSWER_PROCESSES": str(workers)}
            result = await served_phase(n, workdir, root=ROOT, tag=f"W{turn}", env=env)
            results.append((workers, result))
            loads.append(os.getloadavg()[0])
    lines = [
        "# Teams: 200 concurrent message activities to `policybot serve --workers 0` and `2`",
        "",
        f"`python bench/bench_teams_load.py --activities {n} --workers`: the real `policybot "
        f"serve` in its own process, four servers in turn ({', '.join(map(str, WORKER_ORDER))} "
        "answer worker processes) on one index built beforehand by `policybot ingest`; Teams "
        "in Emulator mode on loopback; the load generator and a fake Bot Connector in the "
        "benchmark process, on the same 2 cores (load average after each server: "
        + ", ".join(f"{load:.1f}" for load in loads)
        + "). CPU: every process of the server from `/proc`, and the benchmark process's own.",
        "",
        "| # | workers | processes | HTTP p50 / p99 s | answer p50 / p99 / max s | answered once "
        "| later than 15 s or never | answers/s | server CPU ms per answer | load generator CPU "
        "ms per answer | busy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, (workers, r) in enumerate(results, start=1):
        lines.append(
            f"| {number} | {workers} | {r['processes']} "
            f"| {r['http']['p50']:.2f} / {r['http']['p99']:.2f} "
            f"| {r['answer']['p50']:.2f} / {r['answer']['p99']:.2f} / {r['answer']['max']:.2f} "
            f"| {r['once']} of {n} | {r['over_15s']} | {n / r['wall']:.1f} "
            f"| {r['cpu'] / n * 1000:.1f} | {r['bench_cpu'] / n * 1000:.1f} | {r['busy']} |"
        )

    def median(workers: int, key) -> float:  # type: ignore[no-untyped-def]
        return statistics.median(key(r) for w, r in results if w == workers)

    def rate(r: dict) -> float:
        return n / r["wall"]

    def http_p99(r: dict) -> float:
        return r["http"]["p99"]

    def answer_p99(r: dict) -> float:
        return r["answer"]["p99"]

    lines += [
        "",
        "Medians of the two servers of each kind, `--workers 2` against `--workers 0`: HTTP "
        f"p99 {median(2, http_p99):.2f} s against {median(0, http_p99):.2f} s; answer p99 "
        f"{median(2, answer_p99):.2f} s against {median(0, answer_p99):.2f} s; answers/s "
        f"{median(2, rate) / median(0, rate):.2f}x. HTTP statuses: "
        + ", ".join(str(r["statuses"]) for _, r in results)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=200)
    parser.add_argument(
        "--today-root",
        type=Path,
        default=None,
        help="compare `policybot serve` processes: this checkout of today's code, then this "
        "branch (without it, both phases run in this process)",
    )
    parser.add_argument(
        "--workers",
        action="store_true",
        help="compare `policybot serve --workers 0` and `--workers 2` (four servers in turn)",
    )
    args = parser.parse_args()
    if args.workers:
        sys.path.insert(0, str(ROOT / "bench"))
        table = asyncio.run(run_workers(args.activities))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        (RESULTS.parent / "teams_load_workers.md").write_text(table)
        print(table)
        return 0
    if args.today_root is not None:
        sys.path.insert(0, str(ROOT / "bench"))
        table = asyncio.run(run_served(args.activities, args.today_root))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        (RESULTS.parent / "teams_load_served.md").write_text(table)
        print(table)
        return 0
    table = asyncio.run(run(args.activities))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
