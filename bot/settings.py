"""All settings in one place, read once at start-up and passed down.

Variables use the ``POLICYBOT_`` prefix (``POLICYBOT_DATA_DIR``, ``POLICYBOT_CHROMA_URL``, ...)
and may also come from a ``.env`` file in the working directory. The platforms' own
standard names (``SLACK_BOT_TOKEN``, ``MicrosoftAppId``, ...) are read by the adapters'
settings, not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BUNDLED_SOURCES = Path(__file__).resolve().parent.parent / "knowledge" / "sources"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def comma_separated(value: object) -> object:
    """A ``"a, b,,c"`` environment value as a frozenset of its non-blank parts."""
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value


def blank_is_unset(value: object) -> object:
    """A text value stripped, and a blank one (``FOO=`` in ``.env``) taken as not set."""
    if isinstance(value, str):
        return value.strip() or None
    return value


class Settings(BaseSettings):
    """Settings of the core; each field documents its variable in the README."""

    model_config = SettingsConfigDict(
        env_prefix="POLICYBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path(".policybot"), description="Index and SQLite file.")
    # NoDecode: the value is read by ``_split_sources`` (":"-separated or a JSON list), not
    # parsed as JSON first, which made the documented "/a:/b" form fail with a traceback.
    sources: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [BUNDLED_SOURCES])
    index_dir: Path | None = Field(default=None, description="Defaults to DATA_DIR/index.")
    chroma_url: str | None = Field(default=None, description="Chroma server, e.g. http://h:8000")
    database_url: str | None = Field(default=None, description="Defaults to SQLite in DATA_DIR.")
    auto_migrate: bool = Field(
        default=True,
        description="Apply pending database migrations at start-up; turn off when "
        "`policybot db upgrade` runs as a release step.",
    )
    embedding_model: str = DEFAULT_MODEL
    embedding_languages: str | None = Field(
        default=None,
        description="Languages the embedding model reads, e.g. 'en,zh' (default: those its "
        "model card lists); with zh, Chinese questions are embedded as they are, not translated.",
    )
    answer_threshold: float | None = Field(
        default=None,
        description="Fixed fused-score threshold for answering; unset uses the rule calibrated "
        "on the index at ingest (knowledge.calibration).",
    )
    max_citations: int = Field(default=3, ge=1, le=20)
    llm_provider: str | None = Field(default=None, description="e.g. openai, azure_openai, ollama")
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0)
    log_level: str = "INFO"
    incident_ack_hours: float = Field(
        default=4.0, gt=0, description="Support must claim an incident within this many hours."
    )
    ticket_field_max_chars: int = Field(
        default=4000, ge=100, le=100_000, description="Cap on each free-text field of a ticket."
    )
    conversation_timeout_minutes: int = Field(
        default=60, ge=1, description="An unfinished incident report is forgotten after this."
    )
    # The example policy (5.3) keeps the in-house assistant's prompts and answers 90 days
    # "for security and audit"; tickets are records, kept a year after they are resolved.
    retention_conversation_days: int = Field(
        default=90, ge=1, description="Answers, the question log and ratings are deleted after."
    )
    retention_closed_ticket_days: int = Field(
        default=365, ge=1, description="Resolved tickets (with their trail) are deleted after."
    )

    torch_threads: int = Field(
        default=1,
        ge=0,
        description=(
            "torch intra-op threads per process that answers or ingests "
            "(0: torch's default, one a core)."
        ),
    )
    answer_workers: int = Field(
        default=8, ge=1, le=64, description="Threads working out answers in a server process."
    )
    answer_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Answer worker processes of a server (0: answers on its own threads).",
    )
    answer_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description=(
            "Scheduling niceness of answer worker processes (0: the server's own priority); "
            "higher lets acknowledgements run first when the cores are busy."
        ),
    )
    answer_queue_limit: int = Field(
        default=500,
        ge=0,
        description="Questions in flight per process before new ones get a busy reply (0: none).",
    )
    embed_batch_window_ms: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description="How long a question waits for others to be embedded with it (serve only).",
    )
    embed_batch_size: int = Field(
        default=8, ge=1, le=256, description="Most questions embedded in one model call."
    )
    timezone: str = Field(
        default="Asia/Hong_Kong",
        description="The organisation's time zone (IANA name): times shown to people use it.",
    )
    slack_announce_channel: str | None = Field(
        default=None,
        description="Slack channel id that policy-change announcements go to; none: not posted.",
    )
    teams_announce_conversation: str | None = Field(
        default=None,
        description="Teams channel conversation id for policy-change announcements.",
    )
    policy_link_base: str | None = Field(
        default=None,
        description="https:// address where the policies are published: announcements link "
        "each section as BASE/<document>#<section>.",
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                parts = json.loads(text)
            except ValueError as exc:
                raise ValueError(
                    f"POLICYBOT_SOURCES looks like a JSON list but is not valid JSON ({exc}); "
                    'write folders separated by ":" (/policies:/more) or a JSON list '
                    '(["/policies", "/more"])'
                ) from None
            if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
                raise ValueError(
                    'POLICYBOT_SOURCES as JSON must be a list of folder paths, e.g. ["/policies"]'
                )
            return [p for p in parts if p.strip()]
        if not text or text.startswith(("{", '"')):
            raise ValueError(
                f"POLICYBOT_SOURCES={value!r} is not a list of folders: write them separated "
                'by ":" (/policies:/more) or as a JSON list (["/policies", "/more"])'
            )
        return [part for part in text.split(":") if part.strip()]

    @field_validator(
        "slack_announce_channel", "teams_announce_conversation", "policy_link_base", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("policy_link_base")
    @classmethod
    def _link_base_is_https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("POLICYBOT_POLICY_LINK_BASE must start with https:// or http://")
        return value.rstrip("/") if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"POLICYBOT_TIMEZONE={value!r} is not a time zone this machine knows: use an "
                "IANA name such as Asia/Hong_Kong or Europe/London (install tzdata if none work)"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone, for showing times to people."""
        return ZoneInfo(self.timezone)

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'policybot.db').resolve()}"
