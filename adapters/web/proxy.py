"""Behind a reverse proxy: the client's address, scheme and host, from trusted proxies only.

Behind nginx every request comes from the proxy's address, over plain HTTP, with whatever
``Host`` the proxy passes. The ``X-Forwarded-*`` headers say what the client really used,
but anyone can send them, so they count only when the request comes from an address in
``POLICYBOT_TRUSTED_PROXIES``. The console's Origin check, its Secure cookies and its
per-client limits then see the client's view.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PROXIES_KEY: web.AppKey[tuple[Network, ...]] = web.AppKey("policybot_trusted_proxies")


def parse_networks(value: object) -> object:
    """``"10.0.0.5, 172.30.0.0/24"`` as a tuple of networks (a bare address is a /32)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return tuple(ipaddress.ip_network(str(part), strict=False) for part in value)
    return value


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str | None, proxies: tuple[Network, ...]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in proxies)


def _last(header: str | None) -> str | None:
    """The value the nearest proxy added: the last of a comma-separated header."""
    if not header:
        return None
    parts = [part.strip() for part in header.split(",") if part.strip()]
    return parts[-1] if parts else None


def client_address(request: web.BaseRequest, proxies: tuple[Network, ...]) -> str | None:
    """The first address, from the right of ``X-Forwarded-For``, that is not a trusted proxy
    (addresses further left were written by the client and prove nothing)."""
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if _address(hop) is None:
            return request.remote
        if not is_trusted(hop, proxies):
            return hop
    return request.remote


def forwarded_view(request: web.Request, proxies: tuple[Network, ...]) -> web.Request:
    """The request as the client sent it, if it came through a trusted proxy; else as is."""
    if not proxies or not is_trusted(request.remote, proxies):
        return request
    scheme = _last(request.headers.get("X-Forwarded-Proto"))
    host = _last(request.headers.get("X-Forwarded-Host"))
    changes: dict[str, Any] = {}
    if scheme in ("http", "https"):
        changes["scheme"] = scheme
    if host:
        changes["host"] = host
    remote = client_address(request, proxies)
    if remote:
        changes["remote"] = remote
    return request.clone(**changes) if changes else request


@web.middleware
async def forwarded_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Hand later middleware and handlers the client's view of the request."""
    proxies = request.config_dict[PROXIES_KEY]
    return await handler(forwarded_view(request, proxies))
