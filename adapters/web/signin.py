"""Sign-in and sign-out, with login rate limiting.

Failed attempts are counted per account name and per client address (both hashed) in the
database; past the limit, sign-in is refused for the rest of the window without checking
the password, so guessing costs the attacker the window, not the server a hash.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web

from adapters.web.accounts import Role, User
from adapters.web.console import PREFIX, console_of, visit_of
from adapters.web.oidc_settings import sign_in_options
from adapters.web.render import render
from adapters.web.security import SESSION_COOKIE, set_cookie

log = logging.getLogger(__name__)
CLIENT_FACTOR = 4


def safe_next(target: str | None, user: User | None) -> str:
    """Where to go after signing in: a console path only, never another site."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    if user is not None and user.role is Role.ADMIN:
        return f"{PREFIX}/admin"
    if user is not None and user.role is Role.SUPPORT:
        return f"{PREFIX}/support"
    return f"{PREFIX}/"


async def signin_page(request: web.Request) -> web.Response:
    return await render(
        request,
        "signin.html",
        title="Sign in",
        next=request.query.get("next", ""),
        error=None,
        **sign_in_options(request),
    )


async def signin(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    if not sign_in_options(request)["local_sign_in"]:
        raise web.HTTPForbidden(text="Local accounts are switched off: use single sign-on.")
    form = await request.post()
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))
    target = str(form.get("next", ""))
    window = timedelta(minutes=console.settings.login_window_minutes)
    keys = (f"name:{name.lower()}", f"client:{request.remote}")
    limits = (console.settings.login_attempts, console.settings.login_attempts * CLIENT_FACTOR)
    accounts = console.accounts

    def attempt() -> tuple[User | None, bool]:
        for key, limit in zip(keys, limits, strict=True):
            if accounts.login_failures(key, window=window) >= limit:
                return None, True
        user = accounts.authenticate(name, password)
        if user is None:
            for key in keys:
                accounts.record_login_failure(key)
        else:
            accounts.clear_login_failures(keys[0])
        return user, False

    user, limited = await asyncio.to_thread(attempt)
    if limited:
        log.warning("sign-in refused: too many failures")
        minutes = round(console.settings.login_window_minutes)
        response = await render(
            request,
            "signin.html",
            status=429,
            title="Sign in",
            next=target,
            error=f"Too many failed sign-ins. Try again in {minutes} minutes.",
            **sign_in_options(request),
        )
        response.headers["Retry-After"] = str(int(window.total_seconds()))
        return response
    if user is None:
        log.info("sign-in failed")
        return await render(
            request,
            "signin.html",
            status=401,
            title="Sign in",
            next=target,
            error="Wrong name or password.",
            **sign_in_options(request),
        )
    lifetime = timedelta(hours=console.settings.session_hours)
    token = await asyncio.to_thread(accounts.start_session, user, lifetime=lifetime)
    log.info("signed in", extra={"role": user.role.value})
    redirect = web.HTTPSeeOther(safe_next(target, user))
    set_cookie(
        redirect, SESSION_COOKIE, token, console.settings, max_age=int(lifetime.total_seconds())
    )
    raise redirect


async def signout(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    token = visit_of(request).session_token
    if token:
        await asyncio.to_thread(console.accounts.end_session, token)
    redirect = web.HTTPSeeOther(f"{PREFIX}/signin")
    redirect.del_cookie(SESSION_COOKIE, path=PREFIX)
    raise redirect


def add_routes(app: web.Application) -> None:
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
