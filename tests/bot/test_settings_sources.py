"""POLICYBOT_SOURCES as the README documents it, POLICYBOT_TIMEZONE, and clear errors."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from adapters.cli import main
from bot.settings import Settings


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"POLICYBOT_{name}", value)
    return Settings(_env_file=None)


def test_sources_take_the_colon_form_and_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_with(monkeypatch, SOURCES="/a:/b").sources == [Path("/a"), Path("/b")]
    assert settings_with(monkeypatch, SOURCES='["/a", "/b c"]').sources == [
        Path("/a"),
        Path("/b c"),
    ]
    assert settings_with(monkeypatch, SOURCES="/only").sources == [Path("/only")]


@pytest.mark.parametrize("value", ['["/a"', '{"a": 1}', "", "[1, 2]"])
def test_anything_else_is_refused_with_the_two_forms(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    with pytest.raises(ValidationError, match="POLICYBOT_SOURCES"):
        settings_with(monkeypatch, SOURCES=value)


def test_the_cli_reports_a_bad_sources_value_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLICYBOT_SOURCES", "[/a")
    assert main(["ask", "--json", "-"]) == 2
    err = capsys.readouterr().err
    assert "policybot: invalid setting" in err and '":"' in err and "Traceback" not in err


def test_the_time_zone_defaults_to_hong_kong_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(_env_file=None).zone == ZoneInfo("Asia/Hong_Kong")
    assert settings_with(monkeypatch, TIMEZONE="Europe/London").zone == ZoneInfo("Europe/London")
    with pytest.raises(ValidationError, match="not a time zone"):
        settings_with(monkeypatch, TIMEZONE="Mars/Olympus")
