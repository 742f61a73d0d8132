"""``policybot slack manifest --url``: the shipped manifest with this server's URLs, or a
clear refusal of a URL Slack could not use or that would point somewhere else."""

from __future__ import annotations

import pytest
import yaml

from adapters.cli import EXIT_USAGE, main
from tests.adapters.slack.test_slack_manifest import MANIFEST


def request_urls(manifest: dict) -> set[str]:
    settings = manifest["settings"]
    return {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(command["url"] for command in manifest["features"]["slash_commands"]),
    }


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://bot.example.com", "https://bot.example.com/slack/events"),
        ("https://bot.example.com/", "https://bot.example.com/slack/events"),
        ("https://Bot.Example.com:8443", "https://bot.example.com:8443/slack/events"),
    ],
)
def test_the_manifest_points_every_request_url_at_the_server(
    url: str, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slack", "manifest", "--url", url]) == 0

    printed = yaml.safe_load(capsys.readouterr().out)
    shipped = yaml.safe_load(MANIFEST.read_text())
    assert request_urls(printed) == {endpoint}
    assert printed["oauth_config"] == shipped["oauth_config"]
    assert (
        printed["settings"]["event_subscriptions"]["bot_events"]
        == (shipped["settings"]["event_subscriptions"]["bot_events"])
    )
    assert printed["display_information"] == shipped["display_information"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://bot.example.com", "not HTTPS"),
        ("bot.example.com", "not HTTPS"),
        ("https://bot.example.com/slack/events", "has a path"),
        ("https://bot.example.com/../x", "has a path"),
        ("https://bot.example.com?next=https://evil.example", "query or fragment"),
        ("https://bot.example.com#frag", "query or fragment"),
        ("https://admin@evil.example", "no user name"),
        ("https://bot.example.com\\@evil.example", "backslashes"),
        ("https://bot example.com", "spaces"),
        ("https://", "host name"),
        ("https://bot.example.com:99999", "not a URL"),
        ("https://evil.example%2f.bot.example.com", "valid host"),
    ],
)
def test_a_url_slack_cannot_use_is_refused_with_the_reason(
    url: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slack", "manifest", "--url", url]) == EXIT_USAGE

    captured = capsys.readouterr()
    assert captured.out == ""
    assert reason in captured.err
    assert "--url https://bot.example.com" in captured.err
