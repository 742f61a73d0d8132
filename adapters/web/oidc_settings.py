"""Settings of single sign-on (``POLICYBOT_OIDC_*``), checked when the server starts.

Single sign-on is on when ``POLICYBOT_OIDC_ISSUER`` is set. Every combination that would
be unsafe or could not work stops the server with the fix: plain HTTP to anything but this
machine, no client id, no redirect URL, no rule giving anyone a role, local accounts
switched off with nothing to replace them.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError
from bot.settings import comma_separated

CALLBACK_PATH = "/console/signin/sso/callback"


def is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(name: str, url: str) -> None:
    """HTTPS, or HTTP to this machine only (a test provider, a local reverse proxy)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return
    raise ConfigurationError(
        f"{name}={url!r} must be an https:// URL (plain http is accepted for 127.0.0.1 and "
        "localhost only)"
    )


class OidcSettings(BaseSettings):
    """The identity provider, this console's client, and who gets which role."""

    model_config = SettingsConfigDict(
        env_prefix="POLICYBOT_OIDC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    issuer: str | None = Field(
        default=None, description="Issuer URL; its /.well-known/openid-configuration is read."
    )
    client_id: str | None = None
    client_secret: SecretStr | None = Field(
        default=None, description="Unset for a public client (PKCE only)."
    )
    redirect_url: str | None = Field(
        default=None,
        description=f"Public URL of {CALLBACK_PATH}, registered at the identity provider.",
    )
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    admin_groups: Annotated[frozenset[str], NoDecode] = frozenset()
    support_groups: Annotated[frozenset[str], NoDecode] = frozenset()
    admin_domains: Annotated[frozenset[str], NoDecode] = frozenset()
    support_domains: Annotated[frozenset[str], NoDecode] = frozenset()
    local_accounts: bool = Field(
        default=True, description="Also accept local names and passwords on the sign-in page."
    )
    button_label: str = "Sign in with single sign-on"

    _split = field_validator(
        "admin_groups", "support_groups", "admin_domains", "support_domains", mode="before"
    )(comma_separated)

    @field_validator("admin_domains", "support_domains", mode="after")
    @classmethod
    def _lower(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(domain.lower().lstrip("@") for domain in value)

    @field_validator("issuer", "client_id", "redirect_url", mode="after")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") or None if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> OidcSettings:
        self.check()
        return self

    @property
    def enabled(self) -> bool:
        return self.issuer is not None

    @property
    def secret(self) -> str | None:
        return self.client_secret.get_secret_value() if self.client_secret else None

    def check(self) -> None:
        if not self.enabled:
            if not self.local_accounts:
                raise ConfigurationError(
                    "POLICYBOT_OIDC_LOCAL_ACCOUNTS=false leaves no way to sign in: set "
                    "POLICYBOT_OIDC_ISSUER (and the other POLICYBOT_OIDC_* settings) first"
                )
            return
        assert self.issuer is not None
        require_https("POLICYBOT_OIDC_ISSUER", self.issuer)
        if not self.client_id:
            raise ConfigurationError(
                "POLICYBOT_OIDC_CLIENT_ID is not set: copy the client (application) id of the "
                "console's registration at your identity provider"
            )
        if not self.redirect_url:
            raise ConfigurationError(
                "POLICYBOT_OIDC_REDIRECT_URL is not set: use https://YOUR-HOST"
                f"{CALLBACK_PATH} and register the same URL at your identity provider"
            )
        require_https("POLICYBOT_OIDC_REDIRECT_URL", self.redirect_url)
        if urlsplit(self.redirect_url).path != CALLBACK_PATH:
            raise ConfigurationError(
                f"POLICYBOT_OIDC_REDIRECT_URL must end in {CALLBACK_PATH} (the console's "
                "callback), e.g. https://policybot.example.org" + CALLBACK_PATH
            )
        if "openid" not in self.scopes.split():
            raise ConfigurationError("POLICYBOT_OIDC_SCOPES must include openid")
        if not (
            self.admin_groups or self.support_groups or self.admin_domains or self.support_domains
        ):
            raise ConfigurationError(
                "no role mapping: set POLICYBOT_OIDC_ADMIN_GROUPS / POLICYBOT_OIDC_SUPPORT_GROUPS "
                "(group names or ids in the token's groups claim) or POLICYBOT_OIDC_ADMIN_DOMAINS "
                "/ POLICYBOT_OIDC_SUPPORT_DOMAINS (verified e-mail domains)"
            )


SETTINGS_KEY: web.AppKey[OidcSettings] = web.AppKey("policybot_oidc_settings", OidcSettings)


def sign_in_options(request: web.Request) -> dict[str, Any]:
    """What the sign-in page offers: the single sign-on button, the local form, or both."""
    settings = request.config_dict.get(SETTINGS_KEY)
    return {
        "sso_label": settings.button_label if settings else None,
        "local_sign_in": settings is None or settings.local_accounts,
    }
