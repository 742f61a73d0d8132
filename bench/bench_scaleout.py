"""Scale-out benchmark: two ``policybot serve`` processes against one, and a Chroma server
against the embedded store, under the same load, in one run.

Run: ``python bench/bench_scaleout.py [--questions 500] [--clients 20]`` (a few minutes on
2 cores; needs the machine's PostgreSQL, see ``tests/scaleout/cluster.py``). Loopback only:
the deployment of ``deploy/compose.yaml`` started as the scale-out test starts it (a Chroma
server, a fresh PostgreSQL database that is dropped afterwards, the bundled sources
ingested with ``python ingest.py``), and a fake Slack Web API in this process.

Each of ``--clients`` simulated employees sends a signed Slack DM event, waits for the
answer to reach the Web API (``chat.postMessage``), then asks the next question, until
``--questions`` are answered: the *answer latency* is event sent -> answer posted, the *ack
latency* is the HTTP round trip of the event. Phases, same questions each time: both
processes (round robin), process A alone, and a third process on the embedded Chroma store
(``POLICYBOT_CHROMA_URL`` unset) alone, and a fourth with two answer worker processes
(``POLICYBOT_ANSWER_PROCESSES=2``) on the Chroma server alone. CPU time per answer comes
from ``/proc/<pid>/stat`` of the server processes (their answer workers included) and of the
Chroma server (PostgreSQL's is not counted). Every wait
is bounded. Writes ``bench/results/scaleout.md`` and ``scaleout.png``; exits 1 on any error
or duplicate answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_slack_load import cpu_seconds  # noqa: E402  (answer worker processes included)

from bot.answering.evaluation import percentile  # noqa: E402
from tests.scaleout.cluster import (  # noqa: E402
    Cluster,
    Server,
    dm_event,
    postgres_unreachable_reason,
    signed_headers,
    start_cluster,
)

QUESTIONS = ROOT / "knowledge" / "eval" / "questions.jsonl"
RESULTS = ROOT / "bench" / "results"
ANSWER_TIMEOUT_SECONDS = 60.0
WARM_UP = 10


class AnswerWatch:
    """When each DM channel first got a ``chat.postMessage``, and how many it got."""

    def __init__(self, cluster: Cluster) -> None:
        self.calls = cluster.slack.api.calls
        self.seen = 0
        self.first: dict[str, tuple[float, str]] = {}
        self.count: dict[str, int] = {}
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._scan, daemon=True)
        self.thread.start()

    def _scan(self) -> None:
        while not self.stop.is_set():
            new = self.calls[self.seen :]
            if new:
                self.seen += len(new)
                with self.changed:
                    for call in new:
                        if call.method != "chat.postMessage":
                            continue
                        channel = str(call.args.get("channel"))
                        self.count[channel] = self.count.get(channel, 0) + 1
                        self.first.setdefault(channel, (call.at, str(call.args.get("text"))))
                    self.changed.notify_all()
            time.sleep(0.005)

    def wait(self, channel: str, timeout: float) -> tuple[float, str] | None:
        with self.changed:
            self.changed.wait_for(lambda: channel in self.first, timeout)
            return self.first.get(channel)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@dataclass
class Phase:
    name: str
    answers: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu_servers: float = 0.0
    cpu_chroma: float = 0.0
    duplicates: int = 0

    def row(self) -> dict[str, Any]:
        n = len(self.answers)
        return {
            "phase": self.name,
            "answered": n,
            "errors": len(self.errors),
            "duplicates": self.duplicates,
            "throughput": n / self.wall if self.wall else 0.0,
            **{f"answer_p{q}": percentile(self.answers, q) for q in (50, 95, 99)},
            **{f"ack_p{q}": percentile(self.acks, q) for q in (50, 95, 99)},
            "cpu_ms_per_answer": 1000 * (self.cpu_servers + self.cpu_chroma) / max(n, 1),
            "cpu_chroma_ms_per_answer": 1000 * self.cpu_chroma / max(n, 1),
        }


def run_phase(
    cluster: Cluster,
    watch: AnswerWatch,
    name: str,
    servers: list[Server],
    texts: list[str],
    clients: int,
    *,
    chroma_pid: int | None,
) -> Phase:
    phase = Phase(name)
    lock = threading.Lock()
    queue = iter(range(len(texts)))

    def client(_: int) -> None:
        with httpx.Client(timeout=30.0) as http:
            while True:
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                server = servers[i % len(servers)]
                event = dm_event(texts[i])
                channel = event["event"]["channel"]
                body = json.dumps(event).encode()
                started = time.perf_counter()
                try:
                    response = http.post(
                        f"{server.url}/slack/events",
                        content=body,
                        headers=signed_headers(body, "application/json"),
                    )
                except httpx.HTTPError as exc:
                    with lock:
                        phase.errors.append(f"{server.name}: {exc!r}")
                    continue
                acked = time.perf_counter()
                answer = watch.wait(channel, ANSWER_TIMEOUT_SECONDS)
                with lock:
                    phase.channels.append(channel)
                    if response.status_code != 200:
                        phase.errors.append(f"{server.name}: HTTP {response.status_code}")
                    elif answer is None:
                        phase.errors.append(f"{server.name}: no answer in time")
                    elif answer[1].startswith("Sorry, something went wrong"):
                        phase.errors.append(f"{server.name}: apology")
                    else:
                        phase.acks.append(acked - started)
                        phase.answers.append(answer[0] - started)

    pids = [server.process.pid for server in servers]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    chroma_before = cpu_seconds(chroma_pid) if chroma_pid else 0.0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    phase.wall = time.perf_counter() - started
    time.sleep(2.0)  # room for a duplicate answer to show up
    phase.cpu_servers = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    phase.cpu_chroma = (cpu_seconds(chroma_pid) - chroma_before) if chroma_pid else 0.0
    phase.duplicates = sum(watch.count.get(c, 0) > 1 for c in phase.channels)
    return phase


def warm_up(cluster: Cluster, watch: AnswerWatch, server: Server, texts: list[str]) -> None:
    run_phase(cluster, watch, "warm-up", [server], texts[:WARM_UP], 2, chroma_pid=None)


def write_results(phases: list[Phase], args: argparse.Namespace, seconds: float) -> str:
    rows = [phase.row() for phase in phases]
    lines = [
        "| phase | answered | errors | duplicates | answers/s | answer p50 / p95 / p99 s "
        "| Slack ack p50 / p95 / p99 ms | CPU ms per answer (of it Chroma server) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['phase']} | {r['answered']} | {r['errors']} | {r['duplicates']} "
            f"| {r['throughput']:.1f} | {r['answer_p50']:.2f} / {r['answer_p95']:.2f} / "
            f"{r['answer_p99']:.2f} | {1000 * r['ack_p50']:.0f} / {1000 * r['ack_p95']:.0f} / "
            f"{1000 * r['ack_p99']:.0f} | {r['cpu_ms_per_answer']:.0f} "
            f"({r['cpu_chroma_ms_per_answer']:.0f}) |"
        )
    two, one, embedded, workers = rows
    lines += [
        "",
        f"{args.questions} questions per phase from {args.clients} concurrent simulated "
        f"employees (each waits for its answer before asking again), on {os.cpu_count()} "
        f"cores, loopback; the load generator and the fake Slack API share the cores. "
        f"Whole run {seconds:.0f} s.",
        f"Throughput two processes / one: {two['throughput'] / one['throughput']:.2f}. "
        f"Answer p95 Chroma server / embedded store (one process each): "
        f"{one['answer_p95'] / embedded['answer_p95']:.2f}. "
        f"Slack ack p99 under load: {1000 * max(r['ack_p99'] for r in rows[:2]):.0f} ms. "
        f"Throughput one process with two answer workers / one process: "
        f"{workers['throughput'] / one['throughput']:.2f}; its CPU counts every process of "
        "the server (the workers and the process they are forked from).",
    ]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scaleout.md").write_text(text)
    (RESULTS / "scaleout.json").write_text(json.dumps(rows, indent=2) + "\n")
    chart(rows)
    return text


def chart(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(r["phase"]).replace(", ", "\n") for r in rows]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    left.bar(names, [r["throughput"] for r in rows], color="#4c72b0")
    left.set_title("answers per second")
    width = 0.25
    for k, q in enumerate((50, 95, 99)):
        xs = [i + (k - 1) * width for i in range(len(rows))]
        middle.bar(xs, [r[f"answer_p{q}"] for r in rows], width, label=f"p{q}")
        right.bar(xs, [1000 * r[f"ack_p{q}"] for r in rows], width, label=f"p{q}")
    for axis, title in ((middle, "answer latency (s)"), (right, "Slack ack latency (ms)")):
        axis.set_xticks(range(len(rows)), names)
        axis.set_title(title)
        axis.legend()
    right.axhline(300, color="grey", linestyle="--", linewidth=1)
    for axis in (left, middle, right):
        axis.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "scaleout.png", dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    reason = postgres_unreachable_reason()
    if reason:
        print(f"skipped: {reason}", file=sys.stderr)
        return 2
    all_texts = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    texts = [all_texts[i % len(all_texts)] for i in range(args.questions)]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, start_cluster(Path(tmp)) as cluster:
        watch = AnswerWatch(cluster)
        try:
            a, b = cluster.servers
            chroma_pid = cluster.chroma.pid
            for server in (a, b):
                warm_up(cluster, watch, server, all_texts[-WARM_UP:])
            phases = [
                run_phase(
                    cluster,
                    watch,
                    "2 processes, Chroma server",
                    [a, b],
                    texts,
                    args.clients,
                    chroma_pid=chroma_pid,
                ),
                run_phase(
                    cluster,
                    watch,
                    "1 process, Chroma server",
                    [a],
                    texts,
                    args.clients,
                    chroma_pid=chroma_pid,
                ),
            ]
            # The embedded store: a third process on its own on-disk index (it ingests the
            # bundled sources itself on start), same database; A and B stay idle.
            c = cluster.start_server("embedded", extra_env={"POLICYBOT_CHROMA_URL": ""})
            cluster.wait_healthy(c, timeout=300)
            warm_up(cluster, watch, c, all_texts[-WARM_UP:])
            phases.append(
                run_phase(
                    cluster,
                    watch,
                    "1 process, embedded store",
                    [c],
                    texts,
                    args.clients,
                    chroma_pid=None,
                )
            )
            # One process with two answer worker processes, Chroma server; the others idle.
            d = cluster.start_server("workers", extra_env={"POLICYBOT_ANSWER_PROCESSES": "2"})
            cluster.wait_healthy(d, timeout=300)
            warm_up(cluster, watch, d, all_texts[-WARM_UP:])
            phases.append(
                run_phase(
                    cluster,
                    watch,
                    "1 process with 2 answer workers, Chroma server",
                    [d],
                    texts,
                    args.clients,
                    chroma_pid=chroma_pid,
                )
            )
        finally:
            watch.close()
    text = write_results(phases, args, time.perf_counter() - began)
    print(text)
    for phase in phases:
        for error in phase.errors[:5]:
            print(f"{phase.name}: {error}", file=sys.stderr)
    failed = any(phase.errors or phase.duplicates for phase in phases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
