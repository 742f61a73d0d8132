"""The Teams app package: ``manifest.json`` with the bot's id filled in, and both icons, zipped.

Upload the zip in Teams (Apps › Manage your apps › Upload an app) or in the Teams admin
centre. The app id is the bot's ``MicrosoftAppId``, as Teams requires for a bot-only app.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from bot.errors import ConfigurationError

MANIFEST_DIR = Path(__file__).resolve().parent / "manifest"
ICONS = ("color.png", "outline.png")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def render_manifest(
    *,
    app_id: str | None,
    website_url: str,
    organisation: str,
    version: str = "1.0.0",
    privacy_url: str | None = None,
    terms_url: str | None = None,
) -> dict:
    """The manifest with its placeholders filled; raises with the fix on a bad value."""
    if not app_id or not _GUID.match(app_id):
        raise ConfigurationError(
            f"MicrosoftAppId {app_id!r} is not an app id: copy the Microsoft App ID (a GUID) "
            "from your Azure Bot resource's Configuration page, or pass --app-id"
        )
    for name, url in (
        ("--website-url", website_url),
        ("--privacy-url", privacy_url),
        ("--terms-url", terms_url),
    ):
        if url is not None and not url.startswith("https://"):
            raise ConfigurationError(f"{name} must be an https:// address, not {url!r}")
    if not _SEMVER.match(version):
        raise ConfigurationError(f"--version must look like 1.0.0, not {version!r}")
    values = {
        "MICROSOFT_APP_ID": app_id.lower(),
        "VERSION": version,
        "ORGANISATION": organisation,
        "WEBSITE_URL": website_url,
        "PRIVACY_URL": privacy_url or website_url,
        "TERMS_URL": terms_url or website_url,
    }
    text = (MANIFEST_DIR / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)

    def fill(node: object) -> object:
        if isinstance(node, str):
            return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], node)
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        return node

    return fill(manifest)  # type: ignore[return-value]


def build_package(output: Path, **manifest_values: str | None) -> Path:
    """Write the zip Teams accepts: manifest.json and the icons at the archive's root."""
    manifest = render_manifest(**manifest_values)  # type: ignore[arg-type]
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for icon in ICONS:
            archive.write(MANIFEST_DIR / icon, icon)
    return output
