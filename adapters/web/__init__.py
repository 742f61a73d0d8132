"""The web console: chat, support queue and admin pages, served by ``policybot serve``.

``setup(app, context)`` mounts the console as a sub-application under ``/console`` (so its
middleware, cookies and CSRF checks never touch the Slack and Teams endpoints) and sends
``/`` there. Its accounts and logs live in the hand-off store's database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from aiohttp import web

from adapters.server import ServerContext
from adapters.web import admin, chat, oidc, policy_versions, signin, staff_pages, stale, support
from adapters.web.accounts import AccountStore
from adapters.web.admission import limit_anonymous_writes
from adapters.web.console import CONSOLE_KEY, PREFIX, Console
from adapters.web.handoff import WebNotifier, ticket_gauge
from adapters.web.ingestion import IngestJobs
from adapters.web.oidc_settings import OidcSettings
from adapters.web.proxy import PROXIES_KEY, forwarded_headers
from adapters.web.render import make_environment
from adapters.web.security import MIDDLEWARES
from adapters.web.settings import WebSettings
from bot.models import Message, Reply
from bot.store.activity import ActivityLog
from bot.store.ingest_lock import IngestLock

STATIC_DIR = Path(__file__).resolve().parent / "static"
TICKETS_GAUGE = "policybot_tickets"


def setup(
    app: web.Application,
    context: ServerContext,
    *,
    settings: WebSettings | None = None,
    sso: OidcSettings | None = None,
) -> None:
    services = context.assistant.handoff_services
    services.notifiers.register(WebNotifier())
    accounts = AccountStore(services.store.engine)
    activity = ActivityLog(services.store.engine)
    console = Console(
        context=context,
        settings=settings or WebSettings(),
        accounts=accounts,
        activity=activity,
        jobs=IngestJobs(context.engine, activity, context.metrics),
        templates=make_environment(context.settings.zone),
        csrf_secret=accounts.secret("csrf"),
        services=services,
    )
    context.extras["web_console"] = console
    if not IngestLock(services.store.engine).held():
        # Runs left "running" by a process that was killed: no one holds the lock now.
        activity.interrupt_unfinished()

    sub = web.Application(middlewares=[forwarded_headers, *MIDDLEWARES, limit_anonymous_writes])
    sub[CONSOLE_KEY] = console
    sub[PROXIES_KEY] = console.settings.trusted_proxies
    chat.add_routes(sub)
    signin.add_routes(sub)
    support.add_routes(sub)
    admin.add_routes(sub)
    policy_versions.add_routes(sub)
    staff_pages.add_routes(sub)
    stale.add_routes(sub)
    oidc.add_routes(sub, sso or OidcSettings(), accounts)
    sub.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
    app.add_subapp(PREFIX, sub)

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{PREFIX}/")

    app.router.add_get("/", home)

    async def record_question(message: Message, reply: Reply, seconds: float) -> None:
        if reply.status is not None:
            await asyncio.to_thread(
                activity.record_question, platform=message.platform, status=reply.status.value
            )

    context.assistant.observers.append(record_question)

    async def database_reachable() -> None:
        def probe() -> None:
            with accounts.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        await asyncio.to_thread(probe)

    context.extras.setdefault("health_checks", {}).setdefault("database", database_reachable)
    if not any(gauge.name == TICKETS_GAUGE for gauge in context.metrics.gauges):
        context.metrics.add_gauge(
            TICKETS_GAUGE, "Tickets in the support queue, by state.", ticket_gauge(services.desk)
        )

    async def wait_for_ingest(_: web.Application) -> None:
        await console.jobs.wait()

    app.on_cleanup.append(wait_for_ingest)
