"""The app manifest asks for exactly what the adapter uses, and points at its endpoint."""

from __future__ import annotations

from pathlib import Path

import yaml

import adapters.slack
from adapters.slack import commands

MANIFEST = Path(adapters.slack.__file__).parent / "manifest.yaml"


def test_manifest_subscribes_to_the_events_the_app_answers() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    settings = manifest["settings"]

    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_mention",
        "assistant_thread_started",
        "message.im",
    ]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "assistant:write",
        "channels:read",
        "chat:write",
        "commands",
        "groups:read",
        "im:history",
    ]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    }
    assert urls == {"https://policybot.example.com/slack/events"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [commands.COMMAND]
    assert settings["interactivity"]["is_enabled"] is True
