"""The shipped Slack app manifest with a server's request URLs filled in.

Slack calls one endpoint, ``https://HOST/slack/events``, for events, interactivity and the
slash command. The base URL is checked before it is written into the manifest: HTTPS only
(Slack refuses plain HTTP request URLs), a host name, and nothing that could move the
endpoint elsewhere (user info, a query, a fragment, a path, a backslash or whitespace).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import ConfigurationError

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"
PLACEHOLDER = "https://policybot.example.com"
ENDPOINT = "/slack/events"
_HOST_LABELS = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def base_url(url: str) -> str:
    """``url`` as ``https://host[:port]``, or a :class:`ConfigurationError` saying why not."""
    text = url.strip()
    hint = "give the server's public base URL, e.g. --url https://bot.example.com"
    if any(char.isspace() or char == "\\" for char in text):
        raise ConfigurationError(f"{url!r} contains spaces or backslashes: {hint}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{url!r} is not a URL ({exc}): {hint}") from exc
    if parts.scheme != "https":
        raise ConfigurationError(f"{url!r} is not HTTPS; Slack only calls https:// URLs: {hint}")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{url!r} needs a host name and no user name: {hint}")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ConfigurationError(f"{url!r} has a query or fragment: {hint}")
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"{url!r} has a path; the bot answers at {ENDPOINT} on the host itself: {hint}"
        )
    host = parts.hostname
    if not _HOST_LABELS.match(host) and not _is_ip(host):
        raise ConfigurationError(f"{url!r} does not name a valid host: {hint}")
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}" + (f":{port}" if port is not None else "")


def filled_manifest(url: str) -> str:
    """The manifest (YAML text) with every request URL set to ``<url>/slack/events``."""
    base = base_url(url)
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    body = "\n".join(line for line in lines if not line.startswith("#"))
    header = (
        f"# Slack app manifest for policybot at {base}{ENDPOINT}, made by `policybot slack "
        "manifest`.\n# Paste it at api.slack.com/apps: Create New App > From a manifest.\n"
    )
    return header + body.replace(PLACEHOLDER, base) + "\n"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
