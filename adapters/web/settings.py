"""Settings of the web console (``POLICYBOT_WEB_*``), read once when the server starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.web.proxy import Network, parse_networks


class WebSettings(BaseSettings):
    """How the console signs people in and what it accepts; each field is a variable."""

    model_config = SettingsConfigDict(
        env_prefix="POLICYBOT_WEB_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    chat_requires_sign_in: bool = Field(
        default=False, description="If true, the chat page needs an account of any role."
    )
    session_hours: float = Field(default=12.0, gt=0, description="Sign-in lifetime.")
    secure_cookies: bool = Field(
        default=False,
        description="Always mark cookies Secure (they are anyway on HTTPS, seen directly or "
        "through a trusted proxy's X-Forwarded-Proto).",
    )
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = Field(
        default=(),
        validation_alias=AliasChoices("POLICYBOT_TRUSTED_PROXIES"),
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto/-Host headers are believed.",
    )
    login_attempts: int = Field(
        default=5, ge=1, description="Failed sign-ins per account (and 4x per client) allowed..."
    )
    login_window_minutes: float = Field(default=15.0, gt=0, description="...in this window.")
    upload_dir: Path | None = Field(
        default=None,
        description="Unused: uploads are kept in the database's document store, where every "
        "process reads them; accepted so that existing configurations still start.",
    )
    upload_max_mb: float = Field(default=20.0, gt=0, le=50)
    anonymous_questions_per_minute: int = Field(
        default=20, ge=1, description="Questions one client may ask per minute unsigned."
    )
    anonymous_tickets_per_hour: int = Field(
        default=5, ge=1, description="Tickets (report, ask a person, feedback) per client."
    )
    anonymous_tickets_per_hour_total: int = Field(
        default=60, ge=1, description="Tickets from all anonymous clients together."
    )

    _split_proxies = field_validator("trusted_proxies", mode="before")(parse_networks)
