"""Who may reach ``/api/messages``, and where the bot may send what it answers.

With ``MicrosoftAppId`` set, botbuilder checks every request's token, and the token's
``serviceurl`` claim must equal the activity's ``serviceUrl``, so replies only go where
Microsoft said. Without it (Emulator mode) nothing is checked: anyone who can reach the
endpoint could name any ``serviceUrl`` and make the server POST there (into the internal
network) or pretend to be an admin. So Emulator mode serves only a server listening on
loopback, unless ``POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED`` says otherwise, and even then
answers only to a loopback ``serviceUrl``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import jwt

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    """True for ``127.0.0.0/8``, ``::1`` and ``localhost``; False for wildcards and names."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    """True when ``url`` is an http(s) URL whose host is a loopback address."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname)


def bearer_is_well_formed(header: str) -> bool:
    """True when ``header`` is ``Bearer <JWT>`` whose header and claims can be read.

    botbuilder raises ``DecodeError``, ``KeyError`` or ``ValueError`` (a 500) on a token it
    cannot even parse; such a request is simply unauthenticated. The signature is checked
    afterwards by botbuilder, not here.
    """
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token or " " in token.strip():
        return False
    try:
        jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError):
        return False
    return isinstance(claims, dict) and isinstance(claims.get("iss"), str)
