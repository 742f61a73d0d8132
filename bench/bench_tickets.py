"""Hand-off store benchmark: tickets created per second, and queue listing with 100,000 tickets.

Run: ``python bench/bench_tickets.py [--tickets 100000] [--postgres URL]`` (a few minutes on
2 cores). SQLite runs on a temporary file; PostgreSQL runs in a schema of its own on the
server named by ``--postgres``, else ``POLICYBOT_TEST_DATABASE_URL``, else 127.0.0.1:5432
database ``test`` if it answers (the schema is dropped afterwards).

Creation goes through ``Handoff.report_incident`` (one transaction: reference counter
upsert, ticket, audit event, outbox row), from one thread and from four; the baseline, in
the same run, is one bare ``INSERT`` of a ticket row per transaction. Listing goes through
``SupportQueue.list_tickets`` (page of 50 plus the total count) on a store filled to
``--tickets`` rows with a realistic mix (most resolved, a tenth open, incidents a sixth).
Every figure is a median of repeated runs; nothing is asserted. Writes
``bench/results/tickets.md`` and prints it.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.handoff.lifecycle import SupportQueue  # noqa: E402
from bot.handoff.ports import Reporter  # noqa: E402
from bot.handoff.submissions import Handoff  # noqa: E402
from bot.handoff.tickets import IncidentReport, TicketKind, TicketQuery, TicketState  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.store.schema import TicketEventRow, TicketRow  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "tickets.md"
REPORTER = Reporter("slack", "U0BENCH", "D0BENCH", "Bench")
NOW = datetime.now(UTC)


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def report(n: int) -> IncidentReport:
    return IncidentReport(
        reporter=REPORTER,
        what_happened=f"Pasted a customer list into a chatbot ({n})",
        tool="ChatGPT",
        data_involved="about 40 names and phone numbers",
        happened_at="today 10:00",
        contained="no",
    )


def creation_rate(handoff: Handoff, *, batches: int, batch: int, threads: int) -> float:
    """Median tickets per second over ``batches`` batches of ``batch`` tickets each."""
    rates = []
    counter = iter(range(10**9))
    lock = threading.Lock()

    def one(_: int) -> None:
        with lock:
            n = next(counter)
        handoff.report_incident(report(n))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in range(batches):
            started = time.perf_counter()
            list(pool.map(one, range(batch)))
            rates.append(batch / (time.perf_counter() - started))
    return statistics.median(rates)


def bare_insert_rate(store: Store, *, batches: int, batch: int) -> float:
    """Baseline: one INSERT of a ticket row per transaction, nothing else."""
    rates = []
    table = TicketRow.__table__
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(batch):
            with store.engine.begin() as connection:
                connection.execute(table.insert(), [ticket_row(f"BARE-{uuid.uuid4().hex[:20]}")])
        rates.append(batch / (time.perf_counter() - started))
    return statistics.median(rates)


def ticket_row(reference: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "reference": reference,
        "kind": "feedback",
        "state": "resolved",
        "severity": "low",
        "title": "Feedback: the policy should allow Copilot for interns",
        "body": "The policy should allow Copilot for interns, with supervision.",
        "details": {"source": "general"},
        "reporter_platform": "slack",
        "reporter_user_id": "U0BENCH",
        "reporter_ref": "D0BENCH",
        "reporter_name": "Bench",
        "assignee": None,
        "created_at": NOW,
        "updated_at": NOW,
        "ack_due_at": None,
        "claimed_at": None,
        "resolved_at": None,
        "resolution": None,
        "answer_id": None,
        "idempotency_key": None,
    }
    row.update(overrides)
    return row


def fill(store: Store, total: int, *, seed: int = 7) -> None:
    """Bulk-load tickets (and their "created" events) up to ``total`` rows."""
    with store.engine.connect() as connection:
        present = connection.execute(sa.select(sa.func.count(TicketRow.id))).scalar_one()
    rng = random.Random(seed)
    numbers: dict[tuple[str, int], int] = {}
    chunk: list[dict[str, object]] = []
    start = NOW - timedelta(days=730)
    for n in range(present, total):
        kind = rng.choices(["feedback", "escalation", "incident"], [0.6, 0.25, 0.15])[0]
        state = rng.choices(["resolved", "claimed", "open"], [0.8, 0.1, 0.1])[0]
        created = start + timedelta(minutes=int(n * 730 * 24 * 60 / total))
        prefix = TicketKind(kind).prefix
        key = (prefix, created.year)
        # Numbers from 100001 up: never reached by the service's own counters here.
        numbers[key] = numbers.get(key, 100_000) + 1
        chunk.append(
            ticket_row(
                f"{prefix}-{created.year}-{numbers[key]}",
                kind=kind,
                state=state,
                severity="high" if kind == "incident" else "low",
                created_at=created,
                updated_at=created,
                ack_due_at=created + timedelta(hours=4) if kind == "incident" else None,
                assignee=None if state == "open" else "alice",
            )
        )
        if len(chunk) == 5000:
            insert_chunk(store, chunk)
            chunk = []
    if chunk:
        insert_chunk(store, chunk)


def insert_chunk(store: Store, rows: list[dict[str, object]]) -> None:
    with store.engine.begin() as connection:
        connection.execute(TicketRow.__table__.insert(), rows)
        ids = connection.execute(
            sa.select(TicketRow.id, TicketRow.created_at).where(
                TicketRow.reference.in_([r["reference"] for r in rows])
            )
        ).all()
        connection.execute(
            TicketEventRow.__table__.insert(),
            [
                {"ticket_id": i, "at": at, "actor": "slack:U0BENCH", "action": "created",
                 "from_state": None, "to_state": "open", "detail": None}
                for i, at in ids
            ],
        )  # fmt: skip


def bench_backend(name: str, url: str, total: int, repeat: int) -> dict[str, float]:
    settings = Settings(database_url=url, _env_file=None)
    store = open_store(settings)
    handoff, queue = Handoff(store, settings), SupportQueue(store, settings)
    figures: dict[str, float] = {}
    print(f"{name}: creating tickets…", file=sys.stderr)
    figures["bare INSERT per transaction (baseline), /s"] = bare_insert_rate(
        store, batches=5, batch=200
    )
    figures["report_incident, 1 thread, /s"] = creation_rate(
        handoff, batches=5, batch=200, threads=1
    )
    figures["report_incident, 4 threads, /s"] = creation_rate(
        handoff, batches=5, batch=200, threads=4
    )
    print(f"{name}: filling to {total:,} tickets…", file=sys.stderr)
    fill(store, total)
    figures[f"report_incident at {total // 1000}k tickets, 1 thread, /s"] = creation_rate(
        handoff, batches=5, batch=100, threads=1
    )
    with store.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count(TicketRow.id))).scalar_one()
        if name == "PostgreSQL":
            connection.execute(sa.text("ANALYZE"))
            connection.commit()
    figures["tickets in store"] = count
    print(f"{name}: listing…", file=sys.stderr)
    second_page = queue.list_tickets(TicketQuery()).next_cursor
    deep = TicketQuery(cursor=str(count // 2))
    some_reference = queue.list_tickets(TicketQuery(limit=1)).tickets[0].reference
    for label, query in (
        ("list: newest 50 + total, ms", TicketQuery()),
        ("list: page 2 by cursor, ms", TicketQuery(cursor=second_page)),
        ("list: a page mid-queue by cursor, ms", deep),
        ("list: open incidents, ms", TicketQuery(state=TicketState.OPEN, kind=TicketKind.INCIDENT)),
        ("list: overdue, ms", TicketQuery(overdue=True)),
        (
            "list: resolved feedback, ms",
            TicketQuery(state=TicketState.RESOLVED, kind=TicketKind.FEEDBACK),
        ),
    ):
        figures[label] = median_ms(lambda q=query: queue.list_tickets(q), repeat)
    figures["show one ticket with its trail, ms"] = median_ms(
        lambda: queue.show(some_reference), repeat
    )
    store.close()
    return figures


def postgres_url(explicit: str | None) -> str | None:
    url = explicit or os.environ.get("POLICYBOT_TEST_DATABASE_URL")
    if url:
        return url
    try:
        socket.create_connection(("127.0.0.1", 5432), 2).close()
    except OSError:
        return None
    return "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30, help="runs per listing figure")
    parser.add_argument("--postgres", help="a PostgreSQL URL (postgresql+psycopg://...)")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = bench_backend(
            "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.tickets, args.repeat
        )
    pg = postgres_url(args.postgres)
    if pg:
        schema = f"bench_tickets_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = sa.engine.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
            results["PostgreSQL"] = bench_backend(
                "PostgreSQL", url.render_as_string(hide_password=False), args.tickets, args.repeat
            )
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    backends = list(results)
    rows = list(next(iter(results.values())))
    lines = [
        "# Hand-off store: ticket creation and queue listing",
        "",
        f"`python bench/bench_tickets.py --tickets {args.tickets}` on {os.cpu_count()} cores, "
        f"{datetime.now(UTC):%Y-%m-%d}. Medians: creation over 5 batches, listing over "
        f"{args.repeat} runs. SQLite on a local file (WAL); PostgreSQL on 127.0.0.1. "
        f"Load average at the start: {load:.1f} (other work on the machine makes these rough).",
        "",
        "| figure | " + " | ".join(backends) + " |",
        "|---|" + "---:|" * len(backends),
    ]
    for row in rows:
        cells = []
        for backend in backends:
            value = results[backend].get(row)
            cells.append(
                "" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
            )
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    for backend in backends:
        figures = results[backend]
        base = figures["bare INSERT per transaction (baseline), /s"]
        service = figures["report_incident, 1 thread, /s"]
        lines.append("")
        lines.append(
            f"{backend}: one report_incident costs {base / service:.1f}x a bare INSERT "
            "transaction (counter upsert, ticket, audit event and outbox row in one commit)."
        )
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
