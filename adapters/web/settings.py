"""Settings of the web console (``POLICYBOT_WEB_*``), read once when the server starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """How the console signs people in and what it accepts; each field is a variable."""

    model_config = SettingsConfigDict(
        env_prefix="POLICYBOT_WEB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    chat_requires_sign_in: bool = Field(
        default=False, description="If true, the chat page needs an account of any role."
    )
    session_hours: float = Field(default=12.0, gt=0, description="Sign-in lifetime.")
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure; set it when the console is on HTTPS."
    )
    login_attempts: int = Field(
        default=5, ge=1, description="Failed sign-ins per account (and 4x per client) allowed..."
    )
    login_window_minutes: float = Field(default=15.0, gt=0, description="...in this window.")
    upload_dir: Path | None = Field(
        default=None, description="Where uploaded policy files go; default: the first source."
    )
    upload_max_mb: float = Field(default=20.0, gt=0, le=50)
