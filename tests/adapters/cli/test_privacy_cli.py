"""``policybot privacy purge|export|erase`` and the server's daily purge."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web

from adapters.cli import main
from adapters.cli.serve import retention_task
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, IncidentReport
from bot.settings import Settings
from bot.store import Store, open_store
from bot.store.schema import AnswerRow


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    return Settings(_env_file=None)


def record_old_answer(settings: Settings) -> None:
    store = open_store(settings)
    old = datetime.now(UTC) - timedelta(days=120)
    Handoff(store, settings, clock=lambda: old).record_answer(
        AnswerRecord(
            platform="web",
            asker_key="k" * 64,
            question="q",
            answer="a",
            status="answered",
            citations=(),
        )
    )
    store.close()


def test_purge_prints_counts_as_json(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    record_old_answer(settings)
    assert main(["privacy", "purge"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["answers"] == 1 and counts["tickets"] == 0


def test_export_and_erase_one_user(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(settings)
    mei = Reporter(platform="teams", user_id="29:mei")
    Handoff(store, settings).report_incident(IncidentReport(reporter=mei, what_happened="leak"))
    store.close()

    assert main(["privacy", "export", "--user", "29:mei"]) == 0
    held = json.loads(capsys.readouterr().out)
    assert held["found"] and held["tickets"][0]["body"] == "leak"

    assert main(["privacy", "erase", "--user", "29:mei", "--platform", "teams"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["tickets"] == 1 and "erased" in out.err

    assert main(["privacy", "erase", "--user", "29:mei"]) == 0
    out = capsys.readouterr()
    assert set(json.loads(out.out).values()) == {0} and "nothing erased" in out.err
    assert main(["privacy", "export", "--user", "29:mei"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["tickets"] == [] and "the export is empty" in out.err


async def test_the_server_purges_when_it_starts(settings: Settings) -> None:
    record_old_answer(settings)
    store = open_store(settings)
    app = web.Application()
    app.cleanup_ctx.append(retention_task(store, settings))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        for _ in range(100):
            if answers_held(store) == 0:
                break
            await asyncio.sleep(0.05)
        assert answers_held(store) == 0
    finally:
        await runner.cleanup()
        store.close()


def answers_held(store: Store) -> int:
    with store.transaction() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(AnswerRow)) or 0)
