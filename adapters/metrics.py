"""A small in-process metrics registry rendered in the Prometheus text format (0.0.4).

Counters and histograms are updated as things happen; gauges whose truth lives elsewhere
(tickets by state in the store) are read by a callback at scrape time. The registry is
per process: behind a load balancer, Prometheus scrapes each process and sums.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.models import Message, Reply

log = logging.getLogger(__name__)

Labels = tuple[tuple[str, str], ...]
GaugeReader = Callable[[], Awaitable[dict[Labels, float]]]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(values: dict[str, str]) -> Labels:
    return tuple(sorted(values.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = [*labels, *extra]
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}"


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


@dataclass
class Counter:
    name: str
    help: str
    values: dict[Labels, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _labels(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self.lock:
            return self.values.get(_labels(labels), 0.0)

    def total(self, **labels: str) -> float:
        """Sum over every series that carries all of ``labels``."""
        wanted = set(labels.items())
        with self.lock:
            return sum(value for key, value in self.values.items() if wanted <= set(key))

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self.lock:
            for key, value in sorted(self.values.items()):
                lines.append(f"{self.name}{_format_labels(key)} {_format_value(value)}")
        return lines


@dataclass
class Histogram:
    name: str
    help: str
    buckets: Sequence[float] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        with self.lock:
            position = bisect.bisect_left(self.buckets, value)
            if position < len(self.counts):
                self.counts[position] += 1
            self.sum += value
            self.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self.lock:
            cumulative = 0
            for bound, count in zip(self.buckets, self.counts, strict=True):
                cumulative += count
                le = _format_labels((), (("le", _format_value(bound)),))
                lines.append(f"{self.name}_bucket{le} {cumulative}")
            lines.append(f'{self.name}_bucket{{le="+Inf"}} {self.count}')
            lines.append(f"{self.name}_sum {_format_value(self.sum)}")
            lines.append(f"{self.name}_count {self.count}")
        return lines


@dataclass
class Gauge:
    """A gauge read at scrape time; a failing reader leaves the gauge out, never the page."""

    name: str
    help: str
    read: GaugeReader

    async def render(self) -> list[str]:
        try:
            values = await self.read()
        except Exception as exc:  # a broken store must not break the other metrics
            log.warning("metric %s unavailable: %s", self.name, exc.__class__.__name__)
            return []
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge"]
        for key, value in sorted(values.items()):
            lines.append(f"{self.name}{_format_labels(key)} {_format_value(value)}")
        return lines


class Metrics:
    """The process's metrics: questions, not_found rate, answer latency, tickets, ingest runs."""

    def __init__(self) -> None:
        self.questions = Counter(
            "policybot_questions_total", "Questions answered, by platform and status."
        )
        self.latency = Histogram(
            "policybot_answer_latency_seconds", "Time from receiving a question to its reply."
        )
        self.ingest_runs = Counter(
            "policybot_ingest_runs_total", "Ingest runs started by this process, by result."
        )
        self.gauges: list[Gauge] = [
            Gauge(
                "policybot_not_found_ratio",
                "Share of questions answered not_found since this process started.",
                self._not_found_ratio,
            )
        ]

    async def _not_found_ratio(self) -> dict[Labels, float]:
        total = self.questions.total()
        not_found = self.questions.total(status="not_found")
        return {(): not_found / total if total else 0.0}

    def add_gauge(self, name: str, help: str, read: GaugeReader) -> None:
        self.gauges.append(Gauge(name, help, read))

    def observe_question(self, message: Message, reply: Reply, seconds: float) -> None:
        status = reply.status.value if reply.status is not None else "none"
        self.questions.inc(platform=message.platform, status=status)
        self.latency.observe(seconds)

    def observe_ingest(self, *, failed_files: int, error: bool = False) -> None:
        result = "error" if error else "partial" if failed_files else "ok"
        self.ingest_runs.inc(result=result)

    async def render(self) -> str:
        lines = [*self.questions.render(), *self.latency.render(), *self.ingest_runs.render()]
        for gauge in self.gauges:
            lines.extend(await gauge.render())
        return "\n".join(lines) + "\n"
