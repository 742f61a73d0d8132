"""``policybot teams package`` writes a zip Teams accepts."""

from __future__ import annotations

import argparse
import io
import json
import zipfile

import pytest
from PIL import Image

from adapters.cli import teams as teams_cli
from bot.errors import ConfigurationError
from bot.settings import Settings

APP_ID = "0C5E2F1A-9B8D-4E7F-A6C5-3D2B1A0F9E8D"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    teams_cli.register(parser.add_subparsers())
    args = parser.parse_args(["teams", "package", *argv])
    return args.handler(args, Settings(_env_file=None))


def test_package_holds_the_manifest_with_the_bot_id_and_both_icons(tmp_path, capsys):
    output = tmp_path / "app.zip"

    code = run(
        "--app-id",
        APP_ID,
        "--website-url",
        "https://intranet.example.com/policybot",
        "--output",
        str(output),
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"package": str(output), "app_id": APP_ID}
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = Image.open(io.BytesIO(archive.read("color.png")))
        outline = Image.open(io.BytesIO(archive.read("outline.png")))
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID.lower()
    assert manifest["developer"]["privacyUrl"] == "https://intranet.example.com/policybot"
    assert "{{" not in json.dumps(manifest)
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert color.size == (192, 192) and outline.size == (32, 32)
    assert outline.mode == "RGBA", "the outline icon must be white on transparent"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--app-id", "not-a-guid", "--website-url", "https://x.example"], "MicrosoftAppId"),
        (["--app-id", APP_ID, "--website-url", "http://x.example"], "https://"),
        (["--app-id", APP_ID, "--website-url", "https://x.example", "--version", "1"], "1.0.0"),
    ],
)
def test_bad_values_say_how_to_fix_them(argv, message, tmp_path):
    with pytest.raises(ConfigurationError, match=message):
        run(*argv, "--output", str(tmp_path / "app.zip"))
    assert not (tmp_path / "app.zip").exists()
