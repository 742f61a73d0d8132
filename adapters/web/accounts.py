"""Local accounts of the console: users with a role, sign-in sessions, login failures.

Passwords are hashed with Argon2id (argon2-cffi). A session cookie carries a random token;
the database keeps only its SHA-256, so a copy of the database signs nobody in. Failed
sign-ins are counted in the database, so every server process behind a load balancer
sees the same count.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as random_secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.errors import PolicyBotError
from bot.store.schema import console_login_failures as login_failures
from bot.store.schema import console_secrets as shared_secrets
from bot.store.schema import console_sessions as sessions
from bot.store.schema import console_users as users

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024


class Role(StrEnum):
    """Each role includes the ones before it: an admin can do what support staff can."""

    EMPLOYEE = "employee"
    SUPPORT = "support"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class AccountError(PolicyBotError):
    """An account cannot be created or changed; the message says what to fix."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role


def _now() -> datetime:
    return datetime.now(UTC)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class AccountStore:
    """Users, sessions and login failures in the console's tables (any SQLAlchemy engine)."""

    def __init__(self, engine: sa.Engine, *, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        # Verified against when the name is unknown, so a wrong name costs as much time
        # as a wrong password and the response time does not tell which names exist.
        self._decoy = self.hasher.hash(random_secrets.token_urlsafe(16))

    def add_user(self, name: str, role: Role, password: str) -> User:
        if not NAME_PATTERN.match(name):
            raise AccountError(
                f"user name {name!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' "
                "or '-', starting with a letter or digit"
            )
        check_password(password)
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
            if exists:
                raise AccountError(
                    f"user {name!r} already exists; use `policybot users passwd {name}` to "
                    "change the password"
                )
            result = conn.execute(
                users.insert().values(
                    name=name,
                    role=role.value,
                    password_hash=self.hasher.hash(password),
                    created_at=_now(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None, "an INSERT returns its primary key"
            user_id = int(key[0])
        return User(id=user_id, name=name, role=role)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        with self.engine.begin() as conn:
            updated = conn.execute(
                users.update()
                .where(users.c.name == name)
                .values(password_hash=self.hasher.hash(password))
            ).rowcount
            if not updated:
                raise AccountError(f"no user {name!r}; create it with `policybot users add`")
            user_id = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()
            conn.execute(sessions.delete().where(sessions.c.user_id == user_id))

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    users.c.id,
                    users.c.name,
                    users.c.role,
                ).order_by(users.c.name)
            ).all()
        return [User(id=row.id, name=row.name, role=Role(row.role)) for row in rows]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same cost for unknown names)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        stored = row.password_hash if row else self._decoy
        try:
            self.hasher.verify(stored, password[:MAX_PASSWORD_CHARS])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled_at is not None:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    users.update()
                    .where(users.c.id == row.id)
                    .values(password_hash=self.hasher.hash(password))
                )
        return User(id=row.id, name=row.name, role=Role(row.role))

    def start_session(self, user: User, *, lifetime: timedelta) -> str:
        """A new session token for the cookie; only its hash is stored."""
        token = random_secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at < now))
            conn.execute(
                sessions.insert().values(
                    token_hash=_sha256(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    def session_user(self, token: str) -> User | None:
        query = (
            sa.select(
                users.c.id,
                users.c.name,
                users.c.role,
                sessions.c.expires_at,
            )
            .join(users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.token_hash == _sha256(token),
                users.c.disabled_at.is_(None),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.expires_at <= _now():
            return None
        return User(id=row.id, name=row.name, role=Role(row.role))

    def end_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == _sha256(token)))

    def record_login_failure(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.insert().values(key_hash=_sha256(key), at=_now()))

    def login_failures(self, key: str, *, window: timedelta) -> int:
        since = _now() - window
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.at < since))
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(login_failures)
                    .where(login_failures.c.key_hash == _sha256(key))
                ).scalar_one()
            )

    def clear_login_failures(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key_hash == _sha256(key)))

    def secret(self, name: str) -> str:
        """A random secret shared by every process on this database, made on first use."""
        query = sa.select(shared_secrets.c.value).where(shared_secrets.c.name == name)
        with self.engine.begin() as conn:
            value = conn.execute(query).scalar_one_or_none()
            if value is not None:
                return str(value)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    shared_secrets.insert().values(name=name, value=random_secrets.token_hex(32))
                )
        except sa.exc.IntegrityError:
            pass  # another process made it first; read theirs
        with self.engine.connect() as conn:
            return str(conn.execute(query).scalar_one())


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password may have at most {MAX_PASSWORD_CHARS} characters")


def keyed_digest(secret: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``secret``, hex (CSRF tokens, anonymised keys)."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
