"""The admin's staff-accounts page: list, add, disable, re-enable, change role, reset password.

The access middleware has already checked the admin role and the CSRF token of every
route here; the rules and the audit trail live in :class:`adapters.web.staff.StaffDirectory`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from adapters.web.accounts import AccountError, Role
from adapters.web.console import console_of, current_user
from adapters.web.render import render
from adapters.web.staff import StaffDirectory

log = logging.getLogger(__name__)
STAFF_ROLES = [Role.SUPPORT, Role.ADMIN]


def directory_of(request: web.Request) -> StaffDirectory:
    return StaffDirectory(console_of(request).accounts)


async def staff_page(
    request: web.Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    directory = directory_of(request)
    accounts = await asyncio.to_thread(directory.staff)
    events = await asyncio.to_thread(directory.events, limit=30)
    return await render(
        request,
        "staff.html",
        status=status,
        title="Staff accounts",
        accounts=accounts,
        events=events,
        roles=STAFF_ROLES,
        notice=notice,
        error=error,
        me=current_user(request).name,
    )


async def _change(
    request: web.Request, action: Callable[[StaffDirectory, str], None], done: str
) -> web.Response:
    """Run one account change as the signed-in admin; the page again, with the outcome."""
    directory = directory_of(request)
    actor = current_user(request).name
    try:
        await asyncio.to_thread(action, directory, actor)
    except AccountError as exc:
        return await staff_page(request, error=str(exc), status=400)
    log.info("staff account changed", extra={"action": done})
    return await staff_page(request, notice=done)


def _role(value: object) -> Role:
    try:
        role = Role(str(value))
    except ValueError:
        raise AccountError("choose the role support or admin") from None
    if role not in STAFF_ROLES:
        raise AccountError("choose the role support or admin")
    return role


async def add_account(request: web.Request) -> web.Response:
    form = await request.post()
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))

    def add(directory: StaffDirectory, actor: str) -> None:
        if password != str(form.get("confirm", "")):
            raise AccountError("the two passwords differ; nothing was changed")
        directory.add(actor, name, _role(form.get("role")), password)

    return await _change(request, add, f"Account {name} added.")


async def disable(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return await _change(
        request,
        lambda directory, actor: directory.disable(actor, name),
        f"Account {name} disabled; their sessions have ended.",
    )


async def enable(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    return await _change(
        request, lambda directory, actor: directory.enable(actor, name), f"Account {name} enabled."
    )


async def change_role(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    form = await request.post()

    def change(directory: StaffDirectory, actor: str) -> None:
        directory.change_role(actor, name, _role(form.get("role")))

    return await _change(request, change, f"Role of {name} changed to {form.get('role')!s}.")


async def reset_password(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    form = await request.post()
    password = str(form.get("password", ""))

    def reset(directory: StaffDirectory, actor: str) -> None:
        directory.reset_password(actor, name, password)

    return await _change(request, reset, f"Password of {name} reset; their sessions have ended.")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/staff", staff_page, name="staff")
    app.router.add_post("/admin/staff", add_account)
    app.router.add_post("/admin/staff/{name}/disable", disable)
    app.router.add_post("/admin/staff/{name}/enable", enable)
    app.router.add_post("/admin/staff/{name}/role", change_role)
    app.router.add_post("/admin/staff/{name}/password", reset_password)
