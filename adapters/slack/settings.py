"""Settings of the Slack adapter, under Slack's own variable names.

``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ``SLACK_APP_TOKEN`` and ``SLACK_API_URL`` are
the names Slack's samples and Bolt use; the project's own options use the
``POLICYBOT_SLACK_`` prefix. Read once at start-up; a half-configured app fails with the fix.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError
from bot.settings import blank_is_unset, comma_separated

DEFAULT_API_URL = "https://slack.com/api/"


class SlackSettings(BaseSettings):
    """The Slack app's credentials and the project's Slack options."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
        description="Bot User OAuth Token (xoxb-...), from OAuth & Permissions.",
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
        description="Signing Secret, from Basic Information > App Credentials.",
    )
    app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="App-level token (xapp-...) with connections:write; turns on Socket Mode.",
    )
    api_url: str = Field(
        default=DEFAULT_API_URL,
        validation_alias=AliasChoices("SLACK_API_URL"),
        description="Web API base URL (GovSlack, a proxy, or a local server in tests).",
    )
    support_channel: str | None = Field(
        default=None,
        validation_alias=AliasChoices("POLICYBOT_SLACK_SUPPORT_CHANNEL"),
        description="Channel id (C...) where incidents, escalations and negative feedback go.",
    )
    admins: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        validation_alias=AliasChoices("POLICYBOT_SLACK_ADMINS"),
        description="Comma-separated Slack user ids (U...) allowed to run admin commands.",
    )

    _split_admins = field_validator("admins", mode="before")(comma_separated)

    _blank_is_unset = field_validator(
        "bot_token", "signing_secret", "app_token", "support_channel", mode="before"
    )(blank_is_unset)

    @field_validator("api_url", mode="after")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins base_url and the method name without adding a slash.
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _check(self) -> SlackSettings:
        self.check()
        return self

    @property
    def configured(self) -> bool:
        """True when any Slack credential is set: the adapter is wanted in this process."""
        return any((self.bot_token, self.signing_secret, self.app_token))

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    @property
    def token(self) -> str:
        if self.bot_token is None:
            raise ConfigurationError(_MISSING_BOT_TOKEN)
        return self.bot_token.get_secret_value()

    @property
    def secret(self) -> str | None:
        return self.signing_secret.get_secret_value() if self.signing_secret else None

    def check(self) -> None:
        """Fail at start-up, with the fix, when some Slack credentials are set but not enough."""
        if not self.configured:
            return
        if self.bot_token is None:
            raise ConfigurationError(_MISSING_BOT_TOKEN)
        if not self.bot_token.get_secret_value().startswith("xoxb-"):
            raise ConfigurationError(
                "SLACK_BOT_TOKEN must be the Bot User OAuth Token (xoxb-...), not a user or app "
                "token: copy it from OAuth & Permissions in your Slack app's settings"
            )
        if self.app_token is not None and not self.app_token.get_secret_value().startswith("xapp-"):
            raise ConfigurationError(
                "SLACK_APP_TOKEN must be an app-level token (xapp-...): generate one with the "
                "connections:write scope under Basic Information > App-Level Tokens"
            )
        if self.app_token is None and self.signing_secret is None:
            raise ConfigurationError(
                "SLACK_SIGNING_SECRET is not set: copy it from Basic Information > App "
                "Credentials in your Slack app's settings (or set SLACK_APP_TOKEN for Socket Mode)"
            )


_MISSING_BOT_TOKEN = (
    "SLACK_BOT_TOKEN is not set: install the app to your workspace and copy the Bot User "
    "OAuth Token (xoxb-...) from OAuth & Permissions in your Slack app's settings"
)
