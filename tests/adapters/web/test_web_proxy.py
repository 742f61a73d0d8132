"""Forwarded host, scheme and client address count only from a configured proxy."""

from __future__ import annotations

from adapters.web.accounts import Role
from adapters.web.settings import WebSettings
from tests.adapters.web.conftest import PASSWORD, StartConsole

FORWARDED = {
    "X-Forwarded-Host": "policy.example.org",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
    "Origin": "https://policy.example.org",
}


async def sign_in(console, headers: dict[str, str]):
    token = await console.csrf("/console/signin")
    return await console.client.post(
        "/console/signin",
        data={"name": "ada", "password": PASSWORD, "csrf_token": token},
        headers=headers,
        allow_redirects=False,
    )


async def test_behind_a_trusted_proxy_on_https_the_form_passes_and_cookies_are_secure(
    start_console: StartConsole,
):
    console = await start_console(web=WebSettings(_env_file=None, trusted_proxies="127.0.0.1"))
    console.add_user("ada", Role.ADMIN)

    response = await sign_in(console, FORWARDED)

    assert response.status == 303
    cookie = response.cookies["policybot_session"]
    assert cookie["secure"], "a session cookie sent over HTTPS must be Secure"


async def test_forwarded_headers_from_anyone_else_are_ignored(start_console: StartConsole):
    console = await start_console(web=WebSettings(_env_file=None, trusted_proxies="10.9.9.9"))
    console.add_user("ada", Role.ADMIN)

    response = await sign_in(console, FORWARDED)

    assert response.status == 403, "the forged host must not satisfy the Origin check"
    plain = await sign_in(console, {})
    assert plain.status == 303
    assert not plain.cookies["policybot_session"]["secure"]


async def test_the_client_address_comes_from_the_proxy_not_from_the_client(
    start_console: StartConsole,
):
    """Failures from one client behind the proxy do not throttle another client."""
    web = WebSettings(_env_file=None, trusted_proxies="127.0.0.1", login_attempts=2)
    console = await start_console(web=web)
    console.add_user("ada", Role.ADMIN)

    async def attempt(client: str, password: str, spoofed: str = "") -> int:
        token = await console.csrf("/console/signin")
        forwarded = f"{spoofed}, {client}" if spoofed else client
        response = await console.client.post(
            "/console/signin",
            data={"name": "ada", "password": password, "csrf_token": token},
            headers={"X-Forwarded-For": forwarded},
            allow_redirects=False,
        )
        return response.status

    # An attacker rotating the address it writes in front of nginx's stays one client.
    statuses = [await attempt("198.51.100.7", "wrong", spoofed=f"10.0.0.{n}") for n in range(4)]
    assert 429 in statuses

    assert await attempt("203.0.113.9", PASSWORD) == 303, "staff elsewhere still sign in"


async def test_an_account_under_attack_is_shown_to_admins(start_console: StartConsole):
    web = WebSettings(_env_file=None, trusted_proxies="127.0.0.1", login_attempts=2)
    console = await start_console(web=web)
    console.add_user("ada", Role.ADMIN)
    console.add_user("root", Role.ADMIN)
    for n in range(3):
        token = await console.csrf("/console/signin")
        await console.client.post(
            "/console/signin",
            data={"name": "ada", "password": "guess", "csrf_token": token},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )

    assert await console.sign_in("root") == 303
    page = await (await console.client.get("/console/admin")).text()

    assert "Accounts under attack" in page
    assert "ada: 3 failed sign-ins" in page
