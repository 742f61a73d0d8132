"""One ingest at a time across processes, and a killed run's lock recovered."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import BUNDLED_SOURCES
from bot.store import Store, open_store
from bot.store.activity import ActivityLog
from bot.store.ingest_lock import STALE_AFTER, IngestLock, IngestRunning


def test_a_second_holder_is_told_since_when_an_ingest_runs(store: Store) -> None:
    lock = IngestLock(store.engine)
    started = datetime.now(UTC)
    lock.acquire("first", now=started)

    with pytest.raises(IngestRunning, match="an ingest is already running since") as refused:
        IngestLock(store.engine).acquire("second", now=started + timedelta(seconds=5))
    assert f"{started:%Y-%m-%d %H:%M}" in str(refused.value)

    lock.release("first")
    IngestLock(store.engine).acquire("second")


def test_a_lock_nobody_renews_is_taken_over(store: Store) -> None:
    lock = IngestLock(store.engine)
    killed_at = datetime.now(UTC) - STALE_AFTER - timedelta(seconds=1)
    lock.acquire("killed run", now=killed_at)
    assert not lock.held()

    lock.acquire("next run")

    assert lock.held()
    assert not lock.renew("killed run"), "the dead holder cannot take it back"
    lock.release("killed run")
    assert lock.held(), "nor release the new holder's lock"


def test_an_ingest_waits_for_the_one_running_elsewhere(make_engine, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    engine = make_engine(sources=[sources])
    other_process = open_store(engine.settings)
    try:
        with IngestLock(other_process.engine).hold():
            with pytest.raises(IngestRunning):
                engine.ingest()
            assert engine.index.is_empty, "nothing was built beside the running ingest"
    finally:
        other_process.close()


def test_every_ingest_leaves_one_activity_record_whichever_entrance_ran_it(
    make_engine, tmp_path: Path
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    engine = make_engine(sources=[sources])
    store = open_store(engine.settings)
    activity = ActivityLog(store.engine)
    try:
        report = engine.ingest(trigger="slack")
        with IngestLock(store.engine).hold(), pytest.raises(IngestRunning):
            engine.ingest(trigger="teams")
        queued = activity.start_ingest(trigger="upload", actor="admin")
        engine.ingest(trigger="upload", run_id=queued)  # the console finishes its own record
        runs = {run.trigger: run for run in activity.ingest_runs()}
    finally:
        store.close()

    assert set(runs) == {"slack", "teams", "upload"}, "one record per run, none twice"
    slack = runs["slack"]
    assert slack.finished_at is not None and slack.error is None and slack.actor is None
    assert slack.report is not None and slack.report["documents"] == report.documents
    refused = runs["teams"]
    assert refused.finished_at is not None and refused.report is None
    assert refused.error is not None and "already running" in refused.error
    assert runs["upload"].finished_at is None, "left to the caller that recorded it"
