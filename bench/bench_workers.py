"""Answer worker processes: one ``policybot serve --workers 2`` against ``--workers 0``.

Run: ``python bench/bench_workers.py [--events 200]`` (about ten minutes on 2 cores).
Loopback only, the real ``policybot serve`` in a child process and the fake Slack Web API
in this one (the helpers of ``bench_slack_load.py``). The index is built once, by
``policybot ingest``, before any server starts; then six servers in turn, in mirrored
order (see ``ORDER``: workers 0, 2, 2 at niceness 0, twice), each through
``bench_slack_load``'s phase: warm-up, 200 concurrent events that need no answer (the
baseline), 200 concurrent questions with their 200 retries, 200 more questions while those
are answered. While each server still runs:
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
# The servers in turn: (label, answer worker processes, worker niceness). Each kind twice, in
# mirrored order, so that a drift in the machine's load over the run favours none.
ORDER: tuple[tuple[str, int, int], ...] = (
    ("0", 0, 10),
    ("2", 2, 10),
    ("2, niceness 0", 2, 0),
    ("2, niceness 0", 2, 0),
    ("2", 2, 10),
    ("0", 0, 10),
)
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


TODAY = "today"


async def run(n: int, today_root: Path | None) -> str:
    api = FakeSlackApi()
    await api.start()
    results: list[tuple[str, dict]] = []
    fresh_memory: dict[str, list[dict[str, float]]] = {}
    loads = []
    order = list(ORDER)
    if today_root is not None:  # the code before issue 20, first and last
        order = [(TODAY, 0, 10), *order, (TODAY, 0, 10)]
    try:
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as old:
            workdir = Path(tmp)
            ingest(workdir)
            for turn, (label, workers, niceness) in enumerate(order):
                tag = f"W{turn}"
                today = label == TODAY

                async def after(process: asyncio.subprocess.Process, base: str, tag=tag) -> dict:
                    lone = await lone_latency(api, f"{base}/slack/events", tag)
                    return {"lone": lone, "memory": memory(process.pid)}

                # Today's code keeps its own data folder: it builds its index at its first
                # start-up, in its own format (the one built above may be newer).
                result = await slack_bench.phase(
                    api,
                    Path(old) if today else workdir,
                    n,
                    root=today_root if today and today_root else ROOT,
                    env={
                        "POLICYBOT_ANSWER_PROCESSES": str(workers),
                        "POLICYBOT_ANSWER_NICENESS": str(niceness),
                    },
                    tag=tag,
                    after=after,
                )
                loads.append(os.getloadavg()[0])
                results.append((label, result))
            for label, env in FRESH:
                with tempfile.TemporaryDirectory() as fresh:
                    fresh_memory[label] = await ingesting_server(api, Path(fresh), env)
    finally:
        await api.close()
    embed_cpu = slack_bench.embedding_baseline(n)
    return report(n, results, fresh_memory, embed_cpu, loads, today_root)


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
    results: list[tuple[str, dict]],
    fresh_memory: dict[str, list[dict[str, float]]],
    embed_cpu: float,
    loads: list[float],
    today_root: Path | None = None,
) -> str:
    lines = [
        "# Answer worker processes: `policybot serve --workers 2` against `--workers 0`",
        "",
        f"`python bench/bench_workers.py --events {n}"
        + (" --today-root DIR" if today_root else "")
        + f"`: {len(results)} servers started in turn (answer worker processes: "
        + ", ".join(label for label, _ in results)
        + (
            "; *today* is the code before issue 20's work, `git archive` of "
            f"`{today_root.name}`, at its own defaults (torch's default threads, no batching), "
            "on a data folder of its own, which it ingests at its first start"
            if today_root
            else ""
        )
        + '; "niceness 0" is `POLICYBOT_ANSWER_NICENESS=0`, the others the default 10) on '
        "one index built beforehand by `policybot ingest`; each warmed with "
        f"{slack_bench.WARM_UP} questions, then {n} concurrent signed Slack questions alone "
        "(answered before the next step), then "
        f"{n} concurrent questions plus their {n} retries and {n} more questions while they "
        "are answered; the load "
        "generator and the fake Slack Web API share the 2 cores with the server and with "
        "other jobs (load average after each server: "
        + ", ".join(f"{load:.1f}" for load in loads)
        + "). CPU: every process of the server (`/proc`) over the burst, and the benchmark "
        "process's own (the load generator and the fake Slack API).",
        "",
        "| "
        + " | ".join(
            [
                "#",
                "workers",
                "ack p99 / no-answer ack p99: questions alone (with retries)",
                "answers/s",
                "CPU ms per answer (of it, the server process)",
                "CPU per answer / batched 1-thread embedding",
                "load generator CPU ms per answer",
                "lone question median / p95 s",
                "processes",
                "RSS MB total",
                "PSS MB total (anonymous)",
                "busy",
                "result",
            ]
        )
        + " |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, (label, result) in enumerate(results, start=1):
        per_answer = result["cpu"] / (2 * n)
        lone = latency_summary(result["after"]["lone"])
        rows = result["after"]["memory"]
        lines.append(
            f"| {number} | {label} | {slack_bench.solo_ratio(result):.2f} "
            f"({slack_bench.ack_ratio(result):.2f}) "
            f"| {2 * n / result['answered']:.1f} | {per_answer * 1000:.1f} "
            f"({result['server_cpu'] / (2 * n) * 1000:.1f}) "
            f"| {per_answer / embed_cpu:.2f} | {result['bench_cpu'] / (2 * n) * 1000:.1f} "
            f"| {lone['p50']:.3f} / {lone['p95']:.3f} "
            f"| {len(rows)} | {total(rows, 'Rss'):.0f} | {total(rows, 'Pss'):.0f} "
            f"({total(rows, 'Pss_Anon'):.0f}) | {result['busy']} "
            f"| {'PASS' if slack_bench.passed(result, n) else 'FAIL'} |"
        )

    def median(label: str, figure) -> float:  # type: ignore[no-untyped-def]
        return statistics.median(figure(r) for each, r in results if each == label)

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

    def generator_cpu(r: dict) -> float:
        return r["bench_cpu"] / (2 * n)

    def first(label: str) -> dict:
        return next(r for each, r in results if each == label)

    base = ORDER[0][0]
    kinds = list(dict.fromkeys(label for label, _ in results if label != base))
    workers_kind = next(kind for kind in kinds if kind != TODAY)
    lines += ["", f"Medians of the two servers of each kind, against `--workers {base}`:", ""]
    lines += [
        "| workers | answers/s | CPU per answer | lone question median latency | total PSS "
        "| total RSS | ack p99 / no-answer ack p99: questions alone (with retries) |",
        "|---|---|---|---|---|---|---|",
        f"| {base} | {median(base, throughput):.1f} | {median(base, cpu) * 1000:.1f} ms "
        f"| {median(base, lone_median) * 1000:.0f} ms | {median(base, pss):.0f} MB "
        f"| {median(base, rss):.0f} MB | {median(base, slack_bench.solo_ratio):.2f} "
        f"({median(base, slack_bench.ack_ratio):.2f}) |",
    ]
    for kind in kinds:

        def ratio(figure, kind: str = kind) -> float:  # type: ignore[no-untyped-def]
            return median(kind, figure) / median(base, figure)

        lines.append(
            f"| {kind} | {ratio(throughput):.2f}x | {ratio(cpu):.2f}x "
            f"| {ratio(lone_median):.2f}x | {ratio(pss):.2f}x | {ratio(rss):.2f}x "
            f"| {median(kind, slack_bench.solo_ratio):.2f} "
            f"({median(kind, slack_bench.ack_ratio):.2f}) |"
        )
    # What the cores can complete at most when every answer costs the server's CPU and the
    # load generator's (which shares the cores in every run): the ceiling for any --workers.
    cores = os.cpu_count() or 1
    ceiling = cores / (median(workers_kind, cpu) + median(workers_kind, generator_cpu))
    lines += [
        "",
        f"Batched single-thread embedding of the burst's questions: {embed_cpu * 1000:.1f} ms "
        f"of CPU each. Answers that differ between the first `--workers {base}` server and the "
        f"first `--workers {workers_kind}` one, same questions: "
        f"{differing(first(base), first(workers_kind))} of {len(first(base)['texts'])}.",
        "",
        f"The ceiling on this machine: each answer costs {median(workers_kind, cpu) * 1000:.1f} "
        "ms of CPU in the server's processes and "
        f"{median(workers_kind, generator_cpu) * 1000:.1f} ms in the load generator and fake "
        f"Slack API (medians with `--workers {workers_kind}`), so {cores} cores complete at "
        f"most {ceiling:.0f} answers/s, {ceiling / median(base, throughput):.2f}x the "
        f"`--workers {base}` median ({median(base, throughput):.1f} answers/s), before any "
        "other job takes its share."
        + (
            f" Against today's code (median {median(TODAY, throughput):.1f} answers/s): "
            + ", ".join(
                f"`--workers {kind}` {median(kind, throughput) / median(TODAY, throughput):.2f}x"
                for kind in [base, *kinds]
                if kind != TODAY
            )
            + f"; the ceiling {ceiling / median(TODAY, throughput):.2f}x."
            if any(label == TODAY for label, _ in results)
            else ""
        ),
        "",
        "## Memory of each process (MB, after the burst and the lone questions)",
        "",
        "| # | workers | process | RSS | PSS | PSS anonymous |",
        "|---|---|---|---|---|---|",
    ]
    servers = [(f"{i}", label, r["after"]["memory"]) for i, (label, r) in enumerate(results, 1)]
    servers += [(label, "0", rows) for label, rows in fresh_memory.items()]
    for server, label, rows in servers:
        for index, row in enumerate(rows):
            role = "server" if index == 0 else "zygote" if index == 1 else "worker"
            lines.append(
                f"| {server} | {label} | {role} | {row.get('Rss', 0):.0f} "
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
    parser.add_argument(
        "--today-root",
        type=Path,
        default=None,
        help="also run a checkout of the code before issue 20 (first and last): the baseline "
        "of the issue's throughput target",
    )
    args = parser.parse_args()
    text = asyncio.run(run(args.events, args.today_root))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
