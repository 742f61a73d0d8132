"""Sign-in throttling that slows an attacker down without locking staff out.

Failures are counted in the database (shared by every process) per pair of account and
client: after ``free`` failures within the window, each further attempt from that pair must
wait twice as long as the one before (1 s, 2 s, 4 s, ... up to the window). A client is also
held back across all accounts at four times the limit. The account's own count only makes
an attack visible to admins; it never refuses anyone, so failures from one place cannot
keep the account's owner out from another. Keys are stored as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.store import schema

if TYPE_CHECKING:
    from adapters.web.console import Console

CLIENT_FACTOR = 4
FIRST_DELAY_SECONDS = 1.0


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """The keys one sign-in attempt is counted under."""

    account: str
    client: str

    @property
    def pair(self) -> str:
        return f"pair:{self.account.lower()}|{self.client}"

    @property
    def client_key(self) -> str:
        return f"client:{self.client}"

    @property
    def account_key(self) -> str:
        return f"name:{self.account.lower()}"


@dataclass(frozen=True)
class UnderAttack:
    """An account with many recent failed sign-ins, for the admin page."""

    name: str
    failures: int
    last: datetime


class SignInThrottle:
    """Counts failures and says how long an attempt must still wait (0: go ahead)."""

    def __init__(self, engine: sa.Engine, *, free: int, window: timedelta) -> None:
        self.engine = engine
        self.free = free
        self.window = window

    def _stats(self, conn: sa.Connection, key: str, since: datetime) -> tuple[int, datetime | None]:
        table = schema.console_login_failures
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.max(table.c.at)).where(
                table.c.key_hash == _digest(key), table.c.at >= since
            )
        ).one()
        last = row[1]
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return int(row[0]), last

    def wait_seconds(self, attempt: Attempt, *, now: datetime | None = None) -> float:
        """Seconds before this pair (or this client) may try again; 0 when it may now."""
        now = now or datetime.now(UTC)
        since = now - self.window
        with self.engine.begin() as conn:
            conn.execute(
                schema.console_login_failures.delete().where(
                    schema.console_login_failures.c.at < since
                )
            )
            waits = [
                self._wait(*self._stats(conn, attempt.pair, since), free=self.free, now=now),
                self._wait(
                    *self._stats(conn, attempt.client_key, since),
                    free=self.free * CLIENT_FACTOR,
                    now=now,
                ),
            ]
        return max(waits)

    def _wait(self, failures: int, last: datetime | None, *, free: int, now: datetime) -> float:
        if failures < free or last is None:
            return 0.0
        delay = min(FIRST_DELAY_SECONDS * 2 ** (failures - free), self.window.total_seconds())
        return max(0.0, delay - (now - last).total_seconds())

    def failed(self, attempt: Attempt) -> None:
        now = datetime.now(UTC)
        keys = (attempt.pair, attempt.client_key, attempt.account_key)
        with self.engine.begin() as conn:
            conn.execute(
                schema.console_login_failures.insert(),
                [{"key_hash": _digest(key), "at": now} for key in keys],
            )

    def succeeded(self, attempt: Attempt) -> None:
        """The pair's slate is wiped; the account's count stays visible to admins."""
        with self.engine.begin() as conn:
            conn.execute(
                schema.console_login_failures.delete().where(
                    schema.console_login_failures.c.key_hash == _digest(attempt.pair)
                )
            )

    def under_attack(self, names: list[str]) -> list[UnderAttack]:
        """Accounts among ``names`` with at least ``free`` failures in the window."""
        since = datetime.now(UTC) - self.window
        found = []
        with self.engine.connect() as conn:
            for name in names:
                failures, last = self._stats(conn, Attempt(name, "").account_key, since)
                if failures >= self.free and last is not None:
                    found.append(UnderAttack(name=name, failures=failures, last=last))
        return found


def throttle_of(console: Console) -> SignInThrottle:
    """The console's sign-in throttle (failures shared by every process in the database)."""
    return SignInThrottle(
        console.accounts.engine,
        free=console.settings.login_attempts,
        window=timedelta(minutes=console.settings.login_window_minutes),
    )
