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
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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


def questions(n: int, *, prefix: str = "LOAD", tag: str = "") -> list[dict]:
    """``n`` DM questions, one DM per simulated employee, as 200 people asking at once."""
    texts = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    out = []
    for i in range(n):
        payload = fixture("dm_message")
        payload["event_id"] = f"Ev0{prefix}{tag}{i:05d}"
        payload["event"].update(
            text=texts[i % len(texts)],
            user=f"U0{prefix}{tag}{i:05d}",
            channel=f"D0{prefix}{tag}{i:05d}",
            ts=f"1736929812.{i:06d}",
            event_ts=f"1736929812.{i:06d}",
        )
        out.append(payload)
    return out


def edits(n: int, *, tag: str = "") -> list[dict]:
    """``n`` message edits: events the server acknowledges and ignores (the baseline)."""
    out = []
    for i in range(n):
        payload = fixture("message_changed")
        payload["event_id"] = f"Ev0EDIT{tag}{i:05d}"
        out.append(payload)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_server(
    api: FakeSlackApi,
    workdir: Path,
    *,
    root: Path = ROOT,
    extra_env: dict[str, str | None] | None = None,
) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "POLICYBOT_", "Microsoft"))
    }
    env.update(
        PYTHONPATH=str(root),
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api.api_url,
        POLICYBOT_DATA_DIR=str(workdir / "data"),
        POLICYBOT_LOG_LEVEL="WARNING",
    )
    for key, value in (extra_env or {}).items():
        if value is None:  # None: leave the variable out (e.g. a server without Slack)
            env.pop(key, None)
        else:
            env[key] = value
    log = (workdir / "server.log").open("ab")
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


TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (answer workers and their zygote), from ``/proc``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def cpu_seconds(pid: int, *, descendants_too: bool = True) -> float:
    """User + system CPU of a process, all its threads and (unless ``descendants_too`` is
    false) its live descendants (answer worker processes), from ``/proc``."""
    total = 0
    for each in [pid, *(descendants(pid) if descendants_too else [])]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process: the load generator and the fake Slack
    Web API, which share the machine's cores with the server."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def resident_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


async def phase(
    api: FakeSlackApi,
    workdir: Path,
    n: int,
    *,
    root: Path,
    env: dict[str, str | None],
    tag: str,
    profile: Path | None = None,
    after: Callable[[asyncio.subprocess.Process, str], Awaitable[dict]] | None = None,
) -> dict:
    """One server (the code under ``root``) through warm-up, the no-answer baseline, the
    burst with its retries and a second wave; everything measured from outside. ``after``
    measures more while the server still runs (its result is kept under "after")."""
    api.calls.clear()
    process, base = await start_server(api, workdir, root=root, extra_env=env)
    url = f"{base}/slack/events"
    try:
        # The server loads parts of the model on its first questions; warm it first.
        await deliver_all(url, [(p, 0) for p in questions(WARM_UP, prefix="WARM", tag=tag)])
        await api.wait_for("chat.postMessage", WARM_UP, timeout=PHASE_TIMEOUT_SECONDS)
        baseline, _ = await deliver_all(url, [(p, 0) for p in edits(n, tag=tag)])
        # The issue's own measure: n concurrent questions alone (no retries), acknowledged
        # against the n events above; answered before the burst below begins.
        solo, _ = await deliver_all(url, [(p, 0) for p in questions(n, prefix="SOLO", tag=tag)])
        await api.wait_for("chat.postMessage", WARM_UP + n, timeout=PHASE_TIMEOUT_SECONDS)
        batch = questions(n, tag=tag)
        spy = await start_profile(process.pid, profile)
        cpu_before = cpu_seconds(process.pid)
        server_before = cpu_seconds(process.pid, descendants_too=False)
        own_before = own_cpu_seconds()
        started = time.perf_counter()
        acks, sent_at = await deliver_all(url, [(p, r) for p in batch for r in (0, 1)])
        acked = time.perf_counter() - started
        # A second wave while the first one's answers are still being worked out:
        # its acknowledgements must not wait behind that backlog.
        late, _ = await deliver_all(url, [(p, 0) for p in questions(n, prefix="LATE", tag=tag)])
        await api.wait_for("chat.postMessage", WARM_UP + 3 * n, timeout=PHASE_TIMEOUT_SECONDS)
        answered = time.perf_counter() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        server_cpu = cpu_seconds(process.pid, descendants_too=False) - server_before
        own_cpu = own_cpu_seconds() - own_before
        rss, peak = resident_mb(process.pid)
        await stop_profile(spy)
        extra = await after(process, base) if after is not None else {}
    finally:
        exit_code = await stop_server(process)
    all_posts = api.called("chat.postMessage")
    posts = [c for c in all_posts if c.args["channel"].startswith("D0LOAD")]
    late_posts = [c for c in all_posts if c.args["channel"].startswith("D0LATE")]
    solo_posts = [c for c in all_posts if c.args["channel"].startswith("D0SOLO")]
    busy = sum(1 for c in [*posts, *late_posts] if "try again in a minute" in c.args["text"])
    answer = [call.at - sent_at[call.args["channel"] + call.args["thread_ts"]] for call in posts]
    answered_acks = [*acks.values(), *late.values()]
    return {
        "first": [s for (_, retry), (_, s) in acks.items() if retry == 0],
        "retries": [s for (_, retry), (_, s) in acks.items() if retry == 1],
        "late": [s for _, s in late.values()],
        "base": [s for _, s in baseline.values()],
        "solo": [s for _, s in solo.values()],
        "answer": answer,
        "statuses": sorted({status for status, _ in (*answered_acks, *baseline.values())}),
        "over_3s": sum(1 for _, s in answered_acks if s >= SLACK_ACK_SECONDS),
        "posts": len(posts),
        "distinct": len({call.args["channel"] for call in posts}),
        "with_blocks": sum(1 for call in posts if call.args.get("blocks")),
        "late_posts": len(late_posts),
        "solo_posts": len({c.args["channel"] for c in solo_posts}),
        "solo_statuses": sorted({status for status, _ in solo.values()}),
        "busy": busy,
        "acked": acked,
        "answered": answered,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "bench_cpu": own_cpu,
        "rss": rss,
        "peak": peak,
        "exit_code": exit_code,
        "texts": {call.args["channel"][-5:]: call.args["text"] for call in posts},
        "after": extra,
    }


async def start_profile(pid: int, output: Path | None) -> asyncio.subprocess.Process | None:
    """Sample the server with py-spy (if installed) from now until :func:`stop_profile`:
    only threads holding the GIL, so the profile says what keeps the event loop waiting."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if output is None or not Path(spy).exists():
        return None
    return await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "200",
        "--gil",
        "--threads",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop_profile(spy: asyncio.subprocess.Process | None) -> None:
    if spy is None:
        return
    spy.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(spy.wait(), 30)
    except TimeoutError:
        spy.kill()


def embedding_baseline(n: int) -> float:
    """CPU seconds per question of embedding the burst's questions in batches of 8 with one
    torch thread, in this process (after the servers have stopped)."""
    import torch

    from knowledge.embedding import SentenceTransformerEmbedder

    torch.set_num_threads(1)
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    texts = [p["event"]["text"] for p in questions(n)] + [
        p["event"]["text"] for p in questions(n, prefix="LATE")
    ]
    embedder.embed(texts[:8])  # warm
    started = time.process_time()
    for i in range(0, len(texts), 8):
        embedder.embed(texts[i : i + 8])
    return (time.process_time() - started) / len(texts)


def table(result: dict) -> list[str]:
    rows = ["| measure | p50 s | p95 s | p99 s | max s |", "|---|---|---|---|---|"]
    for name, figures in (
        ("ack of a question alone (concurrent, no retries)", latency_summary(result["solo"])),
        ("ack of a question (first delivery)", latency_summary(result["first"])),
        ("ack of its retry (X-Slack-Retry-Num: 1)", latency_summary(result["retries"])),
        ("ack of a second wave, sent while the first is answered", latency_summary(result["late"])),
        ("answer reaches the Web API (chat.postMessage)", latency_summary(result["answer"])),
        ("baseline: ack of an event needing no answer", latency_summary(result["base"])),
    ):
        rows.append(
            f"| {name} | {figures['p50']:.3f} | {figures['p95']:.3f} | {figures['p99']:.3f} "
            f"| {figures['max']:.3f} |"
        )
    return rows


def ack_ratio(result: dict) -> float:
    """First deliveries' ack p99 in the burst with retries, over the no-answer events' p99."""
    return latency_summary(result["first"])["p99"] / latency_summary(result["base"])["p99"]


def solo_ratio(result: dict) -> float:
    """The issue's measure: ack p99 of n concurrent questions alone (no retries, no second
    wave) over the ack p99 of n concurrent events that need no answer."""
    return latency_summary(result["solo"])["p99"] / latency_summary(result["base"])["p99"]


def passed(result: dict, n: int) -> bool:
    return (
        result["over_3s"] == 0
        and result["posts"] == n
        and result["distinct"] == n
        and result["late_posts"] == n
        and result["solo_posts"] == n
        and result["statuses"] == [200]
        and result["solo_statuses"] == [200]
    )


# "today": the code before issue 20 with its defaults; the new defaults need no settings.
TODAY_ENV: dict[str, str | None] = {}
NEW_ENV: dict[str, str | None] = {}


async def run(n: int, today_root: Path | None, profiles: Path | None) -> tuple[str, bool]:
    api = FakeSlackApi()
    await api.start()
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if today_root is not None:
                results["today"] = await phase(
                    api,
                    workdir,
                    n,
                    root=today_root,
                    env=TODAY_ENV,
                    tag="A",
                    profile=profiles / "slack_burst_today.txt" if profiles else None,
                )
            results["this branch"] = await phase(
                api,
                workdir,
                n,
                root=ROOT,
                env=NEW_ENV,
                tag="B",
                profile=profiles / "slack_burst_branch.txt" if profiles else None,
            )
    finally:
        await api.close()
    embed_cpu = embedding_baseline(n)
    load = os.getloadavg()[0]
    ok = passed(results["this branch"], n)
    lines = [
        "# Slack: 200 concurrent questions against 200 events that need no answer",
        "",
        f"`python bench/bench_slack_load.py --events {n}"
        + (" --today-root DIR" if today_root else "")
        + "`: the real `policybot serve` in its own process, warmed with "
        f"{WARM_UP} questions; {n} concurrent signed questions plus {n} concurrent retries of "
        f"them, then {n} more questions while the first are answered; a fake Slack Web API in "
        "the benchmark process. 2 cores shared with 4 other jobs (load average "
        f"{load:.1f} at the end): compare the ratios, measured in the same run, rather "
        "than the seconds.",
        "",
    ]
    summary = [
        "| server | ack p99 / no-answer ack p99 | answers/s | CPU ms per answer "
        "| CPU per answer / batched 1-thread embedding | RSS MB (peak) | busy replies | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, result in results.items():
        per_answer = result["cpu"] / (2 * n)
        summary.append(
            f"| {label} | {ack_ratio(result):.2f} | {2 * n / result['answered']:.1f} "
            f"| {per_answer * 1000:.1f} | {per_answer / embed_cpu:.2f} "
            f"| {result['rss']:.0f} ({result['peak']:.0f}) | {result['busy']} "
            f"| {'PASS' if passed(result, n) else 'FAIL'} |"
        )
    lines += summary
    lines += [
        "",
        f"Batched single-thread embedding of the same {2 * n} questions (8 a call, one torch "
        f"thread, in the benchmark process): {embed_cpu * 1000:.1f} ms of CPU per question. "
        "CPU per answer is the server process's user + system time from `/proc` over the "
        "burst (acks of every delivery included) divided by the answers.",
    ]
    if "today" in results:
        before, after = results["today"], results["this branch"]
        differ = [c for c, text in before["texts"].items() if after["texts"].get(c) != text]
        lines.append(
            f"This branch / today: answers/s {before['answered'] / after['answered']:.2f}x, "
            f"CPU per answer {after['cpu'] / before['cpu']:.2f}x, ack p99 ratio "
            f"{ack_ratio(before):.2f} -> {ack_ratio(after):.2f}. Answers that differ between "
            f"the two servers: {len(differ)} of {len(before['texts'])}."
        )
        for channel in differ[:3]:
            print(
                f"{channel}:\n  today: {before['texts'][channel]!r}\n  new:   "
                f"{after['texts'].get(channel)!r}",
                file=sys.stderr,
            )
    for label, result in results.items():
        lines += [
            "",
            f"## {label}",
            "",
            *table(result),
            "",
            f"{result['over_3s']} acks at or over 3 s; HTTP statuses {result['statuses']}; "
            f"{result['posts']} answers to the first wave ({result['distinct']} distinct DMs, "
            f"{result['with_blocks']} with Block Kit) and {result['late_posts']} to the second; "
            f"first wave acked within {result['acked']:.2f} s, both waves answered within "
            f"{result['answered']:.2f} s; server exit code {result['exit_code']} after SIGTERM.",
        ]
    return "\n".join(lines) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument(
        "--today-root",
        type=Path,
        default=None,
        help="a checkout of the code to compare with (e.g. `git archive` of main), run first",
    )
    parser.add_argument(
        "--profiles",
        type=Path,
        default=None,
        help="a folder for py-spy samples of each server over the burst (GIL holders only)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for every server started (e.g. POLICYBOT_DATABASE_URL=...)",
    )
    args = parser.parse_args()
    for setting in args.server_env:
        key, _, value = setting.partition("=")
        TODAY_ENV[key] = NEW_ENV[key] = value
    text, ok = asyncio.run(run(args.events, args.today_root, args.profiles))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
