"""Server logs: JSON lines when stderr is not a terminal, readable lines when it is.

What is logged never carries raw personal data: the access log keeps the method, the
path without its query string, the status and the duration, and leaves out the client's
address, cookies and headers; handlers log outcomes (status, counts), never question text;
libraries' messages are cut where they start quoting a request (:class:`WithholdRequestData`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

# LogRecord attributes that are not "extra" fields a caller passed.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Alembic prints a line per migration step at INFO; the store logs one line of its own
# ("store ... migrated from X to Y"), so a CLI command that opens the store stays quiet.
NOISY_LOGGERS = ("alembic", "chromadb", "httpx", "sentence_transformers", "urllib3", "bm25s")
# The project's own loggers log outcomes only; every other logger is a library's, and so
# are the ones the project hands to Slack's libraries (``web.payload_safe_logger``).
OWN_LOGGERS = frozenset({"adapters", "bot", "knowledge", "policybot"})
LIBRARY_LOGGERS = ("adapters.slack.bolt", "adapters.slack.assistant", "adapters.slack.web_api")
# Where a library's message starts quoting a request: "body: {...}", "request body: ...",
# or a payload's dict or list. Bolt logs the raw body at INFO on a failed signature check.
_REQUEST_DATA = re.compile(r"(?i)\bbody\b|[{\[]")
WITHHELD = "[request data withheld]"


class WithholdRequestData(logging.Filter):
    """Cut a library's log message where it starts quoting request data.

    Libraries log what they received when something fails (Slack Bolt writes the whole body
    of a request whose signature did not verify, employees' messages included), so their
    messages are kept only up to the first sign of a payload. The project's own loggers
    never log request data and pass unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.split(".", 1)[0] in OWN_LOGGERS
        if own and not record.name.startswith(LIBRARY_LOGGERS):
            return True
        message = record.getMessage()
        match = _REQUEST_DATA.search(message)
        if match:
            record.msg = f"{message[: match.start()].rstrip()} {WITHHELD}"
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is when a record arrives.

    A plain ``StreamHandler(sys.stderr)`` keeps the stream of the moment it was built; when
    that stream is swapped and closed (a test capturing output, a process redirecting its
    stderr), every later record fails with "I/O operation on closed file".
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure_server_logging(level: str, *, stream: IO[str] | None = None) -> None:
    """Send the root logger to ``stream`` (default: the current stderr, looked up for each
    record), as JSON lines unless it is a terminal."""
    handler = logging.StreamHandler(stream) if stream else StderrHandler()
    if (stream or sys.stderr).isatty():
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    handler.addFilter(WithholdRequestData())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings, client addresses or headers."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s",
            request.method,
            request.rel_url.path,
            response.status,
            extra={
                "method": request.method,
                "path": request.rel_url.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 2),
            },
        )
