"""Answer worker processes: one ``policybot serve --workers 2`` against ``--workers 0``.

Run: ``python bench/bench_workers.py [--events 200]`` (about six minutes on 2 cores).
Loopback only, the real ``policybot serve`` in a child process and the fake Slack Web API
in this one (the helpers of ``bench_slack_load.py``). The index is built once, by
``policybot ingest``, before any server starts; then four servers in turn, in alternating
order (workers 0, 2, 2, 0), each through ``bench_slack_load``'s phase: warm-up, 200
concurrent events that need no answer (the baseline), 200 concurrent questions with their
200 retries, 200 more questions while those are answered. While each server still runs:
a lone question's latency (30 questions one after the other, each waiting for its answer)
and the memory of every process of the server (the server, the zygote, the workers):
resident (RSS) and proportional (PSS, shared pages divided among the processes sharing
them, from ``/proc/PID/smaps_rollup``). CPU is every server process's user + system time
from ``/proc`` over the burst. Last, two more ``--workers 0`` servers on fresh data folders,
which ingest at start-up as the first server of ``bench_slack_load.py`` did, for their
memory (the second with ``MALLOC_ARENA_MAX=2``).

Writes ``bench/results/workers.md`` and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_slack_load as slack_bench  # noqa: E402

from bot.answering.evaluation import latency_summary  # noqa: E402
from tests.adapters.slack.fake_slack_api import FakeSlackApi  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "workers.md"
LONE_QUESTIONS = 30
ORDER = (0, 2, 2, 0)
# Servers that build the index at start-up: as they come, and with glibc's malloc held to
# two arenas (its default is up to eight per core, each keeping what it once allocated).
FRESH: tuple[tuple[str, dict[str, str | None]], ...] = (
    ("fresh", {}),
    ("fresh, MALLOC_ARENA_MAX=2", {"MALLOC_ARENA_MAX": "2"}),
)


def memory(pid: int) -> list[dict[str, float]]:
    """RSS, PSS and anonymous PSS in MB of ``pid`` and each process under it."""
    rows = []
    for each in [pid, *slack_bench.descendants(pid)]:
        values: dict[str, float] = {"pid": each}
        try:
            text = Path(f"/proc/{each}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines()[1:]:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Pss_Anon"):
                values[key] = int(rest.split()[0]) / 1024
        rows.append(values)
    return rows


async def lone_latency(api: FakeSlackApi, url: str, tag: str) -> list[float]:
    """Seconds from sending each of 30 questions, one at a time, to its answer's post."""
    seconds = []
    for payload in slack_bench.questions(LONE_QUESTIONS, prefix="LONE", tag=tag):
        posted = len(api.called("chat.postMessage"))
        started = time.perf_counter()
        await slack_bench.deliver_all(url, [(payload, 0)])
        [*_, post] = await api.wait_for("chat.postMessage", posted + 1, timeout=60)
        seconds.append(post.at - started)
    return seconds


def ingest(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYBOT_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), POLICYBOT_DATA_DIR=str(workdir / "data"))
    subprocess.run(
        [sys.executable, "-m", "adapters.cli", "ingest", "--json"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=600,
    )


async def run(n: int) -> str:
    api = FakeSlackApi()
    await api.start()
    results: list[tuple[int, dict]] = []
    fresh_memory: dict[str, list[dict[str, float]]] = {}
    loads = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            ingest(workdir)
            for turn, workers in enumerate(ORDER):
                tag = f"W{turn}"

                async def after(process: asyncio.subprocess.Process, base: str, tag=tag) -> dict:
                    lone = await lone_latency(api, f"{base}/slack/events", tag)
                    return {"lone": lone, "memory": memory(process.pid)}

                result = await slack_bench.phase(
                    api,
                    workdir,
                    n,
                    root=ROOT,
                    env={"POLICYBOT_ANSWER_PROCESSES": str(workers)},
                    tag=tag,
                    after=after,
                )
                loads.append(os.getloadavg()[0])
                results.append((workers, result))
            for label, env in FRESH:
                with tempfile.TemporaryDirectory() as fresh:
                    fresh_memory[label] = await ingesting_server(api, Path(fresh), env)
    finally:
        await api.close()
    embed_cpu = slack_bench.embedding_baseline(n)
    return report(n, results, fresh_memory, embed_cpu, loads)


async def ingesting_server(
    api: FakeSlackApi, workdir: Path, env: dict[str, str | None]
) -> list[dict[str, float]]:
    """The memory of a ``--workers 0`` server that built the index itself at start-up,
    after the same warm-up as the others."""
    process, base = await slack_bench.start_server(
        api, workdir, extra_env={"POLICYBOT_ANSWER_PROCESSES": "0", **env}
    )
    try:
        warm = slack_bench.questions(slack_bench.WARM_UP, prefix="FRESH")
        posted = len(api.called("chat.postMessage"))
        await slack_bench.deliver_all(f"{base}/slack/events", [(p, 0) for p in warm])
        await api.wait_for("chat.postMessage", posted + len(warm), timeout=300)
        return memory(process.pid)
    finally:
        await slack_bench.stop_server(process)


def differing(one: dict, other: dict) -> int:
    return sum(1 for key, text in one["texts"].items() if other["texts"].get(key) != text)


def total(rows: list[dict[str, float]], key: str) -> float:
    return sum(row.get(key, 0.0) for row in rows)


def report(
    n: int,
    results: list[tuple[int, dict]],
    fresh_memory: dict[str, list[dict[str, float]]],
    embed_cpu: float,
    loads: list[float],
) -> str:
    lines = [
        "# Answer worker processes: `policybot serve --workers 2` against `--workers 0`",
        "",
        f"`python bench/bench_workers.py --events {n}`: four servers of this branch started in "
        f"turn ({', '.join(f'--workers {w}' for w in ORDER)}) on one index built beforehand by "
        "`policybot ingest`; each warmed with "
        f"{slack_bench.WARM_UP} questions, then {n} concurrent signed Slack questions plus "
        f"their {n} retries and {n} more questions while they are answered; the load "
        "generator and the fake Slack Web API share the 2 cores with the server and with "
        "other jobs (load average after each server: "
        + ", ".join(f"{load:.1f}" for load in loads)
        + "). CPU: every process of the server (`/proc`) over the burst.",
        "",
        "| # | workers | ack p99 / no-answer ack p99 | answers/s | CPU ms per answer | CPU per "
        "answer / batched 1-thread embedding | lone question median / p95 s | processes | "
        "RSS MB total | PSS MB total (anonymous) | busy | result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, (workers, result) in enumerate(results, start=1):
        per_answer = result["cpu"] / (2 * n)
        lone = latency_summary(result["after"]["lone"])
        rows = result["after"]["memory"]
        lines.append(
            f"| {number} | {workers} | {slack_bench.ack_ratio(result):.2f} "
            f"| {2 * n / result['answered']:.1f} | {per_answer * 1000:.1f} "
            f"| {per_answer / embed_cpu:.2f} | {lone['p50']:.3f} / {lone['p95']:.3f} "
            f"| {len(rows)} | {total(rows, 'Rss'):.0f} | {total(rows, 'Pss'):.0f} "
            f"({total(rows, 'Pss_Anon'):.0f}) | {result['busy']} "
            f"| {'PASS' if slack_bench.passed(result, n) else 'FAIL'} |"
        )

    def median(workers: int, figure) -> float:  # type: ignore[no-untyped-def]
        return statistics.median(figure(r) for w, r in results if w == workers)

    def throughput(r: dict) -> float:
        return 2 * n / r["answered"]

    def pss(r: dict) -> float:
        return total(r["after"]["memory"], "Pss")

    def rss(r: dict) -> float:
        return total(r["after"]["memory"], "Rss")

    def lone_median(r: dict) -> float:
        return statistics.median(r["after"]["lone"])

    def cpu(r: dict) -> float:
        return r["cpu"] / (2 * n)

    lines += [
        "",
        "Medians of the two servers of each kind, `--workers 2` / `--workers 0`: answers/s "
        f"{median(2, throughput) / median(0, throughput):.2f}x; CPU per answer "
        f"{median(2, cpu) / median(0, cpu):.2f}x; lone question median latency "
        f"{median(2, lone_median) / median(0, lone_median):.2f}x; total PSS "
        f"{median(2, pss) / median(0, pss):.2f}x; total RSS "
        f"{median(2, rss) / median(0, rss):.2f}x. Ack p99 / no-answer ack p99: "
        f"{median(0, slack_bench.ack_ratio):.2f} with `--workers 0`, "
        f"{median(2, slack_bench.ack_ratio):.2f} with `--workers 2`. Batched single-thread "
        f"embedding of the burst's questions: {embed_cpu * 1000:.1f} ms of CPU each. Answers "
        f"that differ between server 1 (`--workers {results[0][0]}`) and server 2 "
        f"(`--workers {results[1][0]}`), same questions: {differing(results[0][1], results[1][1])} "
        f"of {len(results[0][1]['texts'])}.",
        "",
        "## Memory of each process (MB, after the burst and the lone questions)",
        "",
        "| # | workers | process | RSS | PSS | PSS anonymous |",
        "|---|---|---|---|---|---|",
    ]
    named = [(f"{n}", w, r["after"]["memory"]) for n, (w, r) in enumerate(results, start=1)]
    named += [(label, 0, rows) for label, rows in fresh_memory.items()]
    for number, workers, rows in named:
        for index, row in enumerate(rows):
            role = "server" if index == 0 else "zygote" if index == 1 else "worker"
            lines.append(
                f"| {number} | {workers} | {role} | {row.get('Rss', 0):.0f} "
                f"| {row.get('Pss', 0):.0f} | {row.get('Pss_Anon', 0):.0f} |"
            )
    lines += [
        "",
        "*fresh*: a `--workers 0` server started on an empty data folder, which built the "
        "index itself at start-up (embedding every section and sentence), measured after "
        f"the same {slack_bench.WARM_UP}-question warm-up; the second with "
        "`MALLOC_ARENA_MAX=2` in its environment.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    text = asyncio.run(run(args.events))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
