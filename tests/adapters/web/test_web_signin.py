"""Sign-in with local accounts: cookies, sessions, sign-out and the login rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.web.accounts import AccountError, Role
from adapters.web.settings import WebSettings
from tests.adapters.web.conftest import PASSWORD


async def test_signing_in_sets_an_httponly_samesite_session_cookie(console):
    console.add_user("sam", Role.SUPPORT)
    token = await console.csrf("/console/signin")
    response = await console.client.post(
        "/console/signin",
        data={"name": "sam", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/console/support"
    cookie = response.cookies["policybot_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/console"


async def test_the_database_keeps_no_session_token(console):
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    token = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/console/"))[
        "policybot_session"
    ].value
    import sqlalchemy as sa

    with console.console.accounts.engine.connect() as conn:
        stored = [
            row[0] for row in conn.execute(sa.text("SELECT token_hash FROM console_sessions"))
        ]
    assert stored and token not in stored


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(console):
    console.add_user("ada", Role.ADMIN)
    for target, expected in [
        ("/console/admin/chart.svg", "/console/admin/chart.svg"),
        ("https://evil.example/", "/console/admin"),
        ("//evil.example/console/", "/console/admin"),
    ]:
        token = await console.csrf("/console/signin")
        response = await console.client.post(
            "/console/signin",
            data={"name": "ada", "password": PASSWORD, "next": target, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.headers["Location"] == expected


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(console):
    console.add_user("sam", Role.SUPPORT)
    assert await console.sign_in("sam", "wrong-password-1") == 401
    assert await console.sign_in("nobody", "wrong-password-1") == 401


async def test_signing_out_ends_the_session(console):
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    assert (await console.client.get("/console/admin", allow_redirects=False)).status == 200
    await console.post("/console/signout", allow_redirects=False)
    assert (await console.client.get("/console/admin", allow_redirects=False)).status == 303


async def test_too_many_failures_slow_that_client_for_that_account(start_console):
    harness = await start_console(web=WebSettings(_env_file=None, login_attempts=3))
    harness.add_user("ada", Role.ADMIN)
    harness.add_user("bob", Role.ADMIN)
    for _ in range(3):
        assert await harness.sign_in("ada", "not-the-password") == 401
    # Past the limit even the right password is refused from here, with the time to wait.
    token = await harness.csrf("/console/signin")
    response = await harness.client.post(
        "/console/signin", data={"name": "ada", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 2
    assert "Too many failed sign-ins" in await response.text()
    # Another account from the same client is still under its own and the client's limit.
    assert await harness.sign_in("bob") == 303


async def test_many_names_from_one_client_hit_the_client_limit(start_console):
    harness = await start_console(web=WebSettings(_env_file=None, login_attempts=2))
    harness.add_user("ada", Role.ADMIN)
    for n in range(8):
        assert await harness.sign_in(f"guess{n}", "not-the-password") == 401
    assert await harness.sign_in("ada") == 429


async def test_an_expired_session_signs_nobody_in(console):
    console.add_user("ada", Role.ADMIN)
    accounts = console.console.accounts
    user = accounts.authenticate("ada", PASSWORD)
    token = accounts.start_session(user, lifetime=timedelta(seconds=-1))
    assert accounts.session_user(token) is None
    assert accounts.session_user(accounts.start_session(user, lifetime=timedelta(hours=1)))


def test_account_rules_are_explained(console):
    accounts = console.console.accounts
    with pytest.raises(AccountError, match="at least 10 characters"):
        accounts.add_user("ada", Role.ADMIN, "short")
    with pytest.raises(AccountError, match="not allowed"):
        accounts.add_user("../x", Role.ADMIN, PASSWORD)
    accounts.add_user("ada", Role.ADMIN, PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        accounts.add_user("ada", Role.SUPPORT, PASSWORD)
