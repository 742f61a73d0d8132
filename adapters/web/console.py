"""What the console's handlers share: settings, stores, the ingest runner, templates."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web

from adapters.server import ServerContext
from adapters.web.accounts import AccountStore, Role, User
from adapters.web.ingestion import IngestJobs
from adapters.web.settings import WebSettings
from bot.handoff.desk import SupportDesk
from bot.handoff.outbox import OutboxRelay
from bot.handoff.services import HandoffServices
from bot.handoff.submissions import Handoff
from bot.store.activity import ActivityLog

PREFIX = "/console"


@dataclass
class Console:
    context: ServerContext
    settings: WebSettings
    accounts: AccountStore
    activity: ActivityLog
    jobs: IngestJobs
    templates: jinja2.Environment
    csrf_secret: str
    services: HandoffServices

    @property
    def handoff(self) -> Handoff:
        return self.services.submissions

    @property
    def desk(self) -> SupportDesk:
        return self.services.desk

    @property
    def relay(self) -> OutboxRelay:
        return self.services.relay


@dataclass(frozen=True)
class Visit:
    """Who is asking, set by the identification middleware on every console request.

    ``visitor`` is the random visitor cookie everyone gets; ``csrf_token`` is bound to it;
    ``user`` is the signed-in account, if any.
    """

    visitor: str
    csrf_token: str
    session_token: str | None
    user: User | None


CONSOLE_KEY: web.AppKey[Console] = web.AppKey("policybot_console", Console)
VISIT_KEY: web.RequestKey[Visit] = web.RequestKey("policybot_visit", Visit)


def console_of(request: web.Request) -> Console:
    return request.config_dict[CONSOLE_KEY]


def visit_of(request: web.Request) -> Visit:
    return request[VISIT_KEY]


def user_of(request: web.Request) -> User | None:
    visit = request.get(VISIT_KEY)
    return visit.user if visit is not None else None


def current_user(request: web.Request) -> User:
    """The signed-in user of a route the access middleware already guarded."""
    user = user_of(request)
    if user is None:
        raise web.HTTPUnauthorized()
    return user


def has_role(request: web.Request, role: Role) -> bool:
    user = user_of(request)
    return user is not None and user.role.allows(role)
