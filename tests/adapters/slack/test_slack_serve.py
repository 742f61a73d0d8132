"""``policybot serve`` turns the Slack adapter on from Slack's own variables."""

from __future__ import annotations

import pytest

from adapters.cli.serve import enabled_adapters
from bot.errors import ConfigurationError
from bot.settings import Settings
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET


def slack_adapters(settings: Settings) -> list:
    return [a for a in enabled_adapters(settings) if "slack" in getattr(a, "func", a).__module__]


def test_slack_is_served_when_its_token_and_secret_are_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)

    [setup] = slack_adapters(Settings(_env_file=None))

    assert setup.keywords["settings"].secret == SIGNING_SECRET


def test_slack_is_off_without_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)

    assert slack_adapters(Settings(_env_file=None)) == []


def test_a_token_without_a_secret_stops_the_server_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)

    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET is not set"):
        enabled_adapters(Settings(_env_file=None))
