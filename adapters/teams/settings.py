"""Settings of the Teams adapter, under the Bot Framework's own variable names.

``MicrosoftAppId``, ``MicrosoftAppPassword``, ``MicrosoftAppType`` and
``MicrosoftAppTenantId`` are the names the Azure Bot resource and the Teams Toolkit write;
the project's own options use the ``POLICYBOT_TEAMS_`` prefix. With no app id the adapter
runs in Emulator mode: requests are accepted without a token, so only on loopback (see
:mod:`adapters.teams.access`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError
from bot.settings import blank_is_unset, comma_separated

DEFAULT_SERVICE_URL = "https://smba.trafficmanager.net/teams/"


class TeamsSettings(BaseSettings):
    """Read once at start-up; :meth:`check` raises with the fix when a setting is wrong."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    app_id: str | None = Field(default=None, validation_alias=AliasChoices("MicrosoftAppId"))
    app_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MicrosoftAppPassword")
    )
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        default="MultiTenant", validation_alias=AliasChoices("MicrosoftAppType")
    )
    app_tenant_id: str | None = Field(
        default=None, validation_alias=AliasChoices("MicrosoftAppTenantId")
    )
    admins: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        validation_alias=AliasChoices("POLICYBOT_TEAMS_ADMINS"),
        description="Comma-separated AAD object ids of the people allowed to run admin commands.",
    )
    support_conversation: str | None = Field(
        default=None,
        validation_alias=AliasChoices("POLICYBOT_TEAMS_SUPPORT_CONVERSATION"),
        description="Conversation id of the support channel (19:...@thread.tacv2).",
    )
    service_url: str = Field(
        default=DEFAULT_SERVICE_URL,
        validation_alias=AliasChoices("POLICYBOT_TEAMS_SERVICE_URL"),
        description="Bot Connector URL for proactive posts to the configured support channel.",
    )
    login_url: str = Field(
        default="https://login.microsoftonline.com",
        validation_alias=AliasChoices("POLICYBOT_TEAMS_LOGIN_URL"),
        description="Microsoft identity platform where `policybot doctor` asks for a token.",
    )

    allow_unauthenticated: bool = Field(
        default=False,
        validation_alias=AliasChoices("POLICYBOT_TEAMS_ALLOW_UNAUTHENTICATED"),
        description="Serve Emulator mode (no MicrosoftAppId) on a non-loopback address.",
    )

    _split_admins = field_validator("admins", mode="before")(comma_separated)

    _blank_is_unset = field_validator(
        "app_id", "app_tenant_id", "support_conversation", mode="before"
    )(blank_is_unset)

    @model_validator(mode="after")
    def _check(self) -> TeamsSettings:
        self.check()
        return self

    @property
    def auth_enabled(self) -> bool:
        return self.app_id is not None

    def check(self) -> None:
        """Fail at start-up, with the fix, on a combination the Bot Framework would reject."""
        if not self.app_id:
            return
        if self.app_type != "UserAssignedMSI" and not self.password:
            raise ConfigurationError(
                "MicrosoftAppPassword is not set: create a client secret under Certificates & "
                "secrets of the app registration named by MicrosoftAppId"
            )
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.app_tenant_id:
            raise ConfigurationError(
                f"MicrosoftAppTenantId is not set but MicrosoftAppType is {self.app_type}: copy "
                "the Directory (tenant) id from the app registration's Overview page"
            )

    @property
    def password(self) -> str | None:
        return self.app_password.get_secret_value() if self.app_password else None
