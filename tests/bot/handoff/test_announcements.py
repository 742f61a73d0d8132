"""Announcing recorded policy changes: only on an admin's action, only to configured
channels, recorded once so the same changes are never posted twice by accident."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.cli import main as cli_main
from bot.handoff.announcements import (
    NoAnnounceChannel,
    NothingToAnnounce,
    announce,
    announcements,
    pending,
)
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import AnnouncementRow
from tests.announce_fixtures import record_changes


def rows(store: Store) -> int:
    with store.engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(AnnouncementRow.__table__)
        ).scalar_one()


def test_without_a_channel_nothing_is_recorded(store: Store, store_settings: Settings) -> None:
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))
    with pytest.raises(NoAnnounceChannel, match="POLICYBOT_SLACK_ANNOUNCE_CHANNEL"):
        announce(store, store_settings, by="ada")
    assert rows(store) == 0 and pending(store) == 1


def test_an_announcement_covers_each_change_once(store: Store, store_settings: Settings) -> None:
    settings = store_settings.model_copy(
        update={
            "slack_announce_channel": "C0NEWS",
            "teams_announce_conversation": "19:news@thread.tacv2",
            "policy_link_base": "https://intranet.example/policies",
        }
    )
    record_changes(
        store,
        ("4.2 Personal data", "changed", "Do not."),
        ("7 Old rule", "removed", ""),
    )
    first = announce(store, settings, by="ada")
    assert first.change_count == 2 and first.requested_by == "ada"
    assert first.channels == {"slack": "C0NEWS", "teams": "19:news@thread.tacv2"}
    changed, removed = first.sections
    assert changed.link == "https://intranet.example/policies/ai-policy.md#4-2-personal-data"
    assert removed.change == "removed" and removed.link is None

    with pytest.raises(NothingToAnnounce):
        announce(store, settings, by="bob")
    assert rows(store) == 1

    record_changes(store, ("8 New rule", "added", "Ask first."))
    second = announce(store, settings, by="bob")
    assert [s.section for s in second.sections] == ["8 New rule"]
    assert [a.id for a in announcements(store)] == [second.id, first.id]


def test_policybot_changes_announce(
    store: Store,
    store_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)
    for name in ("POLICYBOT_SLACK_ANNOUNCE_CHANNEL", "POLICYBOT_TEAMS_ANNOUNCE_CONVERSATION"):
        monkeypatch.delenv(name, raising=False)

    assert cli_main(["changes", "--announce"]) == 2
    assert "no announcement channel is configured" in capsys.readouterr().err
    assert rows(store) == 0

    monkeypatch.setenv("POLICYBOT_SLACK_ANNOUNCE_CHANNEL", "C0NEWS")
    assert cli_main(["changes", "--announce", "--by", "ada", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["requested_by"] == "ada" and shown["channels"] == {"slack": "C0NEWS"}
    assert [s["section"] for s in shown["sections"]] == ["4.2 Personal data"]
    assert shown["delivered"] is False

    assert cli_main(["changes", "--announce"]) == 0
    assert "nothing to announce" in capsys.readouterr().out
    assert rows(store) == 1


def test_announcing_since_a_date_leaves_older_changes_announceable(
    store: Store, store_settings: Settings
) -> None:
    settings = store_settings.model_copy(update={"slack_announce_channel": "C0NEWS"})
    record_changes(
        store,
        ("2 Old rule", "changed", "Older."),
        at=datetime(2026, 3, 1, tzinfo=UTC),
        effective="2026-03-01",
    )
    record_changes(
        store,
        ("4.2 Personal data", "changed", "Newer."),
        at=datetime(2026, 11, 1, tzinfo=UTC),
        effective="2026-11-01",
    )
    recent = announce(store, settings, by="ada", since="2026-10-01")
    assert [s.section for s in recent.sections] == ["4.2 Personal data"]
    assert pending(store) == 1

    older = announce(store, settings, by="ada")
    assert [s.section for s in older.sections] == ["2 Old rule"]
    assert pending(store) == 0
    with pytest.raises(NothingToAnnounce):
        announce(store, settings, by="ada")


def test_a_stuck_announcement_shows_its_last_error(
    store: Store,
    store_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = store_settings.model_copy(update={"slack_announce_channel": "C0NEWS"})
    record_changes(store, ("4.2 Personal data", "changed", "Do not."))
    made = announce(store, settings, by="ada")
    with store.transaction() as session:
        session.execute(
            sa.update(AnnouncementRow)
            .where(AnnouncementRow.id == made.id)
            .values(attempts=3, last_error="slack: SlackApiError: channel_not_found")
        )
    (stuck,) = announcements(store)
    assert stuck.last_error == "slack: SlackApiError: channel_not_found"

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", store_settings.resolved_database_url)
    assert cli_main(["changes", "--announced", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["delivered"] is False
    assert shown["last_error"] == "slack: SlackApiError: channel_not_found"
    assert cli_main(["changes", "--announced"]) == 0
    assert "last attempt failed: slack: SlackApiError: channel_not_found" in (
        capsys.readouterr().out
    )
