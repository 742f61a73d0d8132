"""No console page, ticket or admin action without the role; no form without its token."""

from __future__ import annotations

import re

import aiohttp
import pytest

from adapters.web.accounts import Role
from adapters.web.console import CONSOLE_KEY
from adapters.web.security import required_role
from adapters.web.settings import WebSettings

OPEN = {"/console/signin", "/console/signout"}


def console_routes(harness) -> list[tuple[str, str]]:
    """(method, concrete path) of every route the console registers, static files excepted."""
    sub = next(app for app in harness.client.app._subapps if CONSOLE_KEY in app)
    routes = []
    for route in sub.router.routes():
        info = route.resource.get_info() if route.resource else {}
        if "directory" in info or route.method == "HEAD":
            continue
        path = info.get("path") or re.sub(r"\{[^}:]+(:[^}]+)?\}", "1", info["formatter"])
        routes.append((route.method, path))
    return routes


async def test_every_console_route_needs_a_sign_in_when_chat_is_closed(start_console):
    harness = await start_console(web=WebSettings(_env_file=None, chat_requires_sign_in=True))
    routes = console_routes(harness)
    assert {("GET", "/console/admin"), ("POST", "/console/ask")} <= set(routes)
    for method, path in routes:
        if path in OPEN:
            continue
        response = await harness.client.request(method, path, allow_redirects=False)
        if method == "GET":
            assert response.status == 303, path
            assert response.headers["Location"].startswith("/console/signin?next="), path
        else:
            assert response.status == 401, (method, path)


async def test_staff_routes_need_a_sign_in_even_when_chat_is_open(console):
    for method, path in console_routes(console):
        if not path.startswith(("/console/admin", "/console/support")):
            continue
        response = await console.client.request(method, path, allow_redirects=False)
        assert response.status in {303, 401}, (method, path)
    page = await console.client.get("/console/")
    assert page.status == 200


async def test_a_support_user_cannot_open_admin_pages(console):
    console.add_user("sam", Role.SUPPORT)
    assert await console.sign_in("sam") == 303
    for method, path in console_routes(console):
        if path.startswith("/console/admin"):
            data = {"csrf_token": await console.csrf()} if method == "POST" else None
            response = await console.client.request(method, path, data=data, allow_redirects=False)
            assert response.status == 403, (method, path)
    page = await console.client.get("/console/admin")
    assert "needs the <strong>admin</strong> role" in await page.text()


async def test_an_admin_can_open_admin_pages(console):
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    page = await console.client.get("/console/admin")
    assert page.status == 200
    assert "Harbourview Trading Limited" in await page.text()


@pytest.mark.parametrize("token", [None, "0" * 64])
async def test_a_form_without_its_csrf_token_is_refused(console, token):
    await console.csrf()  # the visitor cookie exists; only the token is missing or wrong
    data = {"question": "can I use ChatGPT?"}
    if token:
        data["csrf_token"] = token
    response = await console.client.post("/console/ask", data=data)
    assert response.status == 403
    assert "did not come from this site" in await response.text()


async def test_a_csrf_token_of_another_visitor_is_refused(console, start_console):
    other = await start_console()
    stolen = await other.csrf()
    await console.csrf()
    response = await console.client.post(
        "/console/ask", data={"question": "hello", "csrf_token": stolen}
    )
    assert response.status == 403


async def test_a_cross_site_post_is_refused_even_with_a_token(console):
    token = await console.csrf()
    response = await console.client.post(
        "/console/ask",
        data={"question": "hello", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403


async def test_admin_actions_need_the_token_too(console):
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    response = await console.client.post("/console/admin/ingest", allow_redirects=False)
    assert response.status == 403
    form = aiohttp.FormData()
    form.add_field("file", b"# Policy\n\ntext", filename="policy.md")
    upload = await console.client.post("/console/admin/upload", data=form, allow_redirects=False)
    assert upload.status == 403
    # The token is never taken from the query string (it would end up in logs and history).
    token = await console.csrf()
    form = aiohttp.FormData()
    form.add_field("file", b"# Policy\n\ntext", filename="policy.md")
    upload = await console.client.post(
        f"/console/admin/upload?csrf_token={token}", data=form, allow_redirects=False
    )
    assert upload.status == 403


async def test_pages_carry_security_headers(console):
    response = await console.client.get("/console/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_root_opens_the_console(console):
    response = await console.client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/console/"


def test_a_console_path_nobody_listed_needs_the_admin_role():
    settings = WebSettings(_env_file=None)
    assert required_role("/console/reports", settings) is Role.ADMIN
    assert required_role("/console/admin/upload", settings) is Role.ADMIN
    assert required_role("/console/support/INC-2026-1", settings) is Role.SUPPORT
    assert required_role("/console/ask", settings) is None
    assert required_role("/console/signin", settings) is None


async def test_an_unlisted_console_page_sends_visitors_to_sign_in(console):
    response = await console.client.get("/console/reports", allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"].startswith("/console/signin")
