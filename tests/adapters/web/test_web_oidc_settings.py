"""Single sign-on settings fail at start-up with the fix, and roles map as documented."""

from __future__ import annotations

import pytest

from adapters.web.accounts import Role
from adapters.web.oidc import account_name, mapped_role
from adapters.web.oidc_settings import CALLBACK_PATH, OidcSettings
from bot.errors import ConfigurationError

GOOD = {
    "issuer": "https://login.example.org/tenant/v2.0",
    "client_id": "policybot-console",
    "redirect_url": f"https://policybot.example.org{CALLBACK_PATH}",
    "admin_groups": "policy-admins",
}


def settings(**changes: object) -> OidcSettings:
    values = {**GOOD, **changes}
    return OidcSettings(_env_file=None, **{k: v for k, v in values.items() if v is not None})


def test_sso_is_off_by_default_and_local_accounts_stay_on() -> None:
    off = OidcSettings(_env_file=None)
    assert not off.enabled and off.local_accounts


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "http://login.example.org"}, "must be an https:// URL"),
        ({"client_id": None}, "POLICYBOT_OIDC_CLIENT_ID is not set"),
        ({"redirect_url": None}, "POLICYBOT_OIDC_REDIRECT_URL is not set"),
        ({"redirect_url": "http://policybot.example.org" + CALLBACK_PATH}, "https://"),
        ({"redirect_url": "https://policybot.example.org/elsewhere"}, f"end in {CALLBACK_PATH}"),
        ({"scopes": "email profile"}, "must include openid"),
        ({"admin_groups": None}, "no role mapping"),
        ({"issuer": None, "local_accounts": False}, "leaves no way to sign in"),
    ],
)
def test_unsafe_or_incomplete_settings_stop_the_start(changes: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        settings(**changes)


def test_plain_http_is_accepted_on_loopback_only() -> None:
    loopback = settings(
        issuer="http://127.0.0.1:8080", redirect_url=f"http://localhost:3978{CALLBACK_PATH}"
    )
    assert loopback.enabled


def test_the_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(f"POLICYBOT_OIDC_{name.upper()}", value)
    monkeypatch.setenv("POLICYBOT_OIDC_SUPPORT_DOMAINS", "Harbourview.example, @ops.example")

    read = OidcSettings(_env_file=None)

    assert read.admin_groups == {"policy-admins"}
    assert read.support_domains == {"harbourview.example", "ops.example"}


def test_roles_come_from_groups_then_verified_domains() -> None:
    mapping = settings(support_groups="helpdesk", support_domains="harbourview.example")
    claims = {"sub": "1", "email": "a@harbourview.example", "email_verified": True}

    assert mapped_role({**claims, "groups": ["helpdesk", "policy-admins"]}, mapping) is Role.ADMIN
    assert mapped_role({**claims, "groups": "helpdesk"}, mapping) is Role.SUPPORT
    assert mapped_role(claims, mapping) is Role.SUPPORT
    assert mapped_role({**claims, "email_verified": "true"}, mapping) is None
    assert (
        mapped_role({"sub": "2", "email": "b@other.example", "email_verified": True}, mapping)
        is None
    )


def test_account_names_are_made_safe() -> None:
    assert account_name({"preferred_username": "mei chan/<admin>"}, "ab" * 32) == "meichanadmin"
    assert account_name({}, "cd" * 32) == "sso-" + "cd" * 6
