"""Sign-in and sign-out, with sign-in throttling (:mod:`adapters.web.throttle`).

Failed attempts slow down the pair (account, client) progressively, without checking the
password while a pair must wait, so guessing costs the attacker time, not the server a
hash; the account itself is never locked for everyone.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import timedelta

from aiohttp import web

from adapters.web.accounts import Role, User
from adapters.web.console import PREFIX, console_of, visit_of
from adapters.web.oidc_settings import sign_in_options
from adapters.web.render import render
from adapters.web.security import SESSION_COOKIE, set_cookie
from adapters.web.throttle import Attempt, throttle_of

log = logging.getLogger(__name__)


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
    attempt = Attempt(account=name, client=request.remote or "unknown")
    throttle = throttle_of(console)
    accounts = console.accounts

    def try_sign_in() -> tuple[User | None, float]:
        wait = throttle.wait_seconds(attempt)
        if wait > 0:
            return None, wait
        user = accounts.authenticate(name, password)
        if user is None:
            throttle.failed(attempt)
        else:
            throttle.succeeded(attempt)
        return user, 0.0

    user, wait = await asyncio.to_thread(try_sign_in)
    if wait > 0:
        log.warning("sign-in refused: too many failures from this client for this account")
        seconds = max(1, math.ceil(wait))
        response = await render(
            request,
            "signin.html",
            status=429,
            title="Sign in",
            next=target,
            error=f"Too many failed sign-ins. Try again in {seconds} seconds.",
            **sign_in_options(request),
        )
        response.headers["Retry-After"] = str(seconds)
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
        request,
        redirect,
        SESSION_COOKIE,
        token,
        console.settings,
        max_age=int(lifetime.total_seconds()),
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
