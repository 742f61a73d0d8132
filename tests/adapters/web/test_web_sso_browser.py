"""Single sign-on in a real browser against a local OpenID provider: PKCE, signed ID
tokens checked for audience and expiry, roles from groups and e-mail domains."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator

import pytest

from adapters import web as console_adapter
from adapters.server import ServerContext, create_app
from adapters.web.accounts import Role
from adapters.web.oidc_settings import CALLBACK_PATH, OidcSettings
from adapters.web.settings import WebSettings
from adapters.web.staff import StaffDirectory
from bot.answering.engine import Engine, build_engine
from bot.assembly import build_assistant
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import Embedder
from tests.adapters.web import test_web_browser as base
from tests.adapters.web.conftest import PASSWORD
from tests.adapters.web.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeIdentityProvider, Person
from tests.adapters.web.live import LiveServer, start_live_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
browser = base.browser
ADMINS, SUPPORT = "policy-admins", "policy-support"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeIdentityProvider]:
    fake = FakeIdentityProvider()
    fake.start()
    yield fake
    fake.stop()


def console_with_sso(
    engine: Engine, embedder: Embedder, root, provider: FakeIdentityProvider, **overrides
) -> LiveServer:
    sources = root / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    shutil.copytree(engine.settings.resolved_index_dir, root / "data" / "index")
    settings = Settings(data_dir=root / "data", sources=[sources], _env_file=None)
    own = build_engine(settings, embedder=embedder)
    context = ServerContext(settings=settings, engine=own, assistant=build_assistant(own))
    port = unused_port()
    sso = OidcSettings(
        _env_file=None,
        issuer=provider.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_url=f"http://127.0.0.1:{port}{CALLBACK_PATH}",
        admin_groups=frozenset({ADMINS}),
        support_groups=frozenset({SUPPORT}),
        support_domains=frozenset({"harbourview.example"}),
        **overrides,
    )

    def setup(app, ctx):
        console_adapter.setup(app, ctx, settings=WebSettings(_env_file=None), sso=sso)

    return start_live_server(create_app(context, [setup]), context, port=port)


@pytest.fixture(scope="module")
def live(engine, embedder, provider, tmp_path_factory) -> Iterator[LiveServer]:
    server = console_with_sso(engine, embedder, tmp_path_factory.mktemp("sso"), provider)
    server.context.extras["web_console"].accounts.add_user("ada", Role.ADMIN, PASSWORD)
    yield server
    server.stop()


@pytest.fixture
def page(browser, live, provider) -> Iterator[object]:
    provider.audience, provider.lifetime_seconds = CLIENT_ID, 300
    context = browser.new_context(base_url=live.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def sso_sign_in(page, provider: FakeIdentityProvider, person: Person | None, next_path=""):
    provider.person = person
    page.goto("/console/signin" + (f"?next={next_path}" if next_path else ""))
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_load_state()


def test_an_admin_group_member_signs_in_with_pkce_and_lands_on_the_admin_page(page, live, provider):
    sso_sign_in(page, provider, Person("entra-0001", "mei.chan@harbourview.example", [ADMINS]))

    assert page.url.endswith("/console/admin")
    assert page.locator(".who").inner_text().startswith("mei.chan@harbourview.example (admin)")
    authorization = provider.authorizations[-1]
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["nonce"] and authorization["state"]
    assert "code_verifier" in provider.token_requests[-1]
    page.goto("/console/admin/staff")
    account = page.locator("tr[data-account='mei.chan@harbourview.example']")
    assert account.locator("td").nth(1).inner_text() == "single sign-on"
    assert (
        account.get_by_role("button", name="Reset password of mei.chan@harbourview.example").count()
        == 0
    )
    base.shot(page, "sso-admin")


def test_a_verified_email_domain_gives_the_support_role_and_next_is_kept(page, live, provider):
    person = Person("entra-0002", "kai.wong@harbourview.example")
    sso_sign_in(page, provider, person, next_path="/console/support?state=open")

    assert page.url.endswith("/console/support?state=open")
    assert page.get_by_role("link", name="Admin").count() == 0


def test_an_unverified_email_domain_gives_no_role(page, live, provider):
    person = Person("entra-0003", "someone@harbourview.example", email_verified=False)
    sso_sign_in(page, provider, person)

    assert "has no role in this console" in page.get_by_role("alert").inner_text()
    page.goto("/console/support")
    assert "/console/signin" in page.url


def test_a_token_for_another_audience_is_refused(page, live, provider):
    provider.audience = "some-other-app"
    sso_sign_in(page, provider, Person("entra-0004", "lee@harbourview.example", [ADMINS]))

    assert "could not be verified" in page.get_by_role("alert").inner_text()
    page.goto("/console/admin")
    assert "/console/signin" in page.url


def test_an_expired_token_is_refused(page, live, provider):
    provider.lifetime_seconds = -3600
    sso_sign_in(page, provider, Person("entra-0005", "old@harbourview.example", [ADMINS]))

    assert "could not be verified" in page.get_by_role("alert").inner_text()
    page.goto("/console/admin")
    assert "/console/signin" in page.url


def test_a_user_with_no_mapped_role_gets_no_session(page, live, provider):
    sso_sign_in(page, provider, Person("google-0006", "visitor@elsewhere.example", ["staff"]))

    assert "has no role in this console" in page.get_by_role("alert").inner_text()
    names = [a.name for a in live.context.extras["web_console"].accounts.users()]
    assert "visitor@elsewhere.example" not in names


def test_a_disabled_sso_account_cannot_sign_in_and_roles_follow_the_provider(page, live, provider):
    person = Person("entra-0007", "sam.lo@harbourview.example", [ADMINS])
    sso_sign_in(page, provider, person)
    assert page.url.endswith("/console/admin")
    page.context.clear_cookies()
    person.groups = [SUPPORT]
    sso_sign_in(page, provider, person)
    assert page.url.endswith("/console/support"), "the provider's groups are re-read"
    accounts = live.context.extras["web_console"].accounts
    StaffDirectory(accounts).disable("ada", "sam.lo@harbourview.example")
    page.context.clear_cookies()
    sso_sign_in(page, provider, person)
    assert "disabled" in page.get_by_role("alert").inner_text()


def test_a_local_account_still_signs_in_beside_sso(page, live):
    base.sign_in(page, "ada")
    assert page.url.endswith("/console/admin")


def test_local_accounts_can_be_switched_off(browser, engine, embedder, provider, tmp_path):
    server = console_with_sso(engine, embedder, tmp_path, provider, local_accounts=False)
    try:
        server.context.extras["web_console"].accounts.add_user("ada", Role.ADMIN, PASSWORD)
        context = browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto("/console/signin")
        assert page.get_by_role("link", name="Sign in with single sign-on").is_visible()
        assert page.get_by_label("Password").count() == 0
        response = page.request.post(
            "/console/signin", form={"name": "ada", "password": PASSWORD, "csrf_token": "x" * 64}
        )
        assert response.status == 403
        context.close()
    finally:
        server.stop()
