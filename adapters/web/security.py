"""The console's middleware chain: headers, who is asking, may they, and was it their form.

Every request under the console passes, in order: security headers; identification
(a visitor cookie for everyone, the signed-in user from the session cookie); the access
check by path (admin pages need the admin role, the support queue the support role, the
chat a sign-in only if configured); and, for anything but GET/HEAD, the CSRF check. Handlers
repeat none of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.web.accounts import Role, keyed_digest
from adapters.web.console import PREFIX, VISIT_KEY, Visit, console_of, user_of, visit_of
from adapters.web.render import render
from adapters.web.settings import WebSettings

VISITOR_COOKIE = "policybot_visitor"
SESSION_COOKIE = "policybot_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def required_role(path: str, settings: WebSettings) -> Role | None:
    """The role a console path needs; None when anyone may open it."""
    relative = path[len(PREFIX) :] or "/"
    if relative.startswith(("/static/", "/signin/")) or relative in {"/signin", "/signout"}:
        return None
    if relative == "/admin" or relative.startswith("/admin/"):
        return Role.ADMIN
    if relative == "/support" or relative.startswith("/support/"):
        return Role.SUPPORT
    return Role.EMPLOYEE if settings.chat_requires_sign_in else None


def wants_fragment(request: web.Request) -> bool:
    """The page's script asked for a part of a page (progressive enhancement)."""
    return request.headers.get("X-Requested-With") == "fetch"


def employee_id(request: web.Request) -> str:
    """Who is asking, as stored with their tickets: the account name, else an id derived
    from the visitor cookie (not the cookie itself, which would let a reader impersonate)."""
    user = user_of(request)
    if user is not None:
        return user.name
    return "visitor-" + hashlib.sha256(visit_of(request).visitor.encode()).hexdigest()[:16]


def set_cookie(
    response: web.StreamResponse,
    name: str,
    value: str,
    settings: WebSettings,
    *,
    max_age: int | None = None,
) -> None:
    """Console cookies: HttpOnly, SameSite=Lax, scoped to the console, Secure if configured."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add_headers(exc)
        raise
    _add_headers(response)
    return response


def _add_headers(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
    console = console_of(request)
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    new_visitor = None
    if not _TOKEN.match(visitor):
        visitor = new_visitor = secrets.token_urlsafe(24)
    token: str | None = request.cookies.get(SESSION_COOKIE, "")
    token = token if token and _TOKEN.match(token) else None
    request[VISIT_KEY] = Visit(
        visitor=visitor,
        csrf_token=keyed_digest(console.csrf_secret, visitor),
        session_token=token,
        user=await asyncio.to_thread(console.accounts.session_user, token) if token else None,
    )
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if new_visitor:
            set_cookie(exc, VISITOR_COOKIE, new_visitor, console.settings)
        raise
    if new_visitor and not response.prepared:
        set_cookie(response, VISITOR_COOKIE, new_visitor, console.settings)
    return response


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    console = console_of(request)
    needed = required_role(request.path, console.settings)
    if needed is None:
        return await handler(request)
    user = user_of(request)
    if user is None:
        if request.method in SAFE_METHODS and not wants_fragment(request):
            target = quote(request.rel_url.path_qs, safe="")
            raise web.HTTPSeeOther(f"{PREFIX}/signin?next={target}")
        raise web.HTTPUnauthorized(text="Sign in first.")
    if not user.role.allows(needed):
        return await render(
            request, "forbidden.html", status=403, needed=needed.value, title="Not allowed"
        )
    return await handler(request)


@web.middleware
async def csrf_protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS:
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="Cross-site request refused.")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.content_type == "multipart/form-data":
        # Uploads are streamed by their handler, so their token travels in the query string.
        supplied = request.query.get(CSRF_FIELD)
    elif supplied is None:
        supplied = str((await request.post()).get(CSRF_FIELD, ""))
    if not supplied or not hmac.compare_digest(supplied, visit_of(request).csrf_token):
        raise web.HTTPForbidden(
            text="This form has expired or did not come from this site. Reload the page and "
            "send it again."
        )
    return await handler(request)


MIDDLEWARES = [security_headers, identify, authorize, csrf_protect]
