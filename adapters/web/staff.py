"""Staff account administration: add, disable, re-enable, change roles, reset passwords.

The console's admin pages and ``policybot users`` both go through :class:`StaffDirectory`,
so every change is checked the same way and lands in the same audit trail
(``console_account_events``: who, what, to which account, when; never a password).
Disabling an account deletes its sessions in the same transaction, so the person is
signed out on their next request. Nobody can disable or demote themselves, and the last
enabled admin stays an admin, so the console can never lock every admin out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from adapters.web.accounts import AccountError, AccountStore, Role, User
from bot.store import schema

CLI_ACTOR = "cli"


@dataclass(frozen=True)
class StaffAccount:
    """An account as the admin page lists it."""

    id: int
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    single_sign_on: bool

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class AccountEvent:
    at: datetime
    actor: str
    account: str
    action: str
    detail: str | None


class StaffDirectory:
    """Account changes with their checks and their audit rows, on the console's tables."""

    def __init__(self, accounts: AccountStore) -> None:
        self.accounts = accounts
        self.engine = accounts.engine

    def staff(self) -> list[StaffAccount]:
        users = schema.console_users
        query = sa.select(
            users.c.id,
            users.c.name,
            users.c.role,
            users.c.created_at,
            users.c.disabled_at,
            users.c.sso_subject,
        ).order_by(users.c.name)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            StaffAccount(
                id=row.id,
                name=row.name,
                role=Role(row.role),
                created_at=row.created_at,
                disabled_at=row.disabled_at,
                single_sign_on=row.sso_subject is not None,
            )
            for row in rows
        ]

    def events(self, *, limit: int = 50) -> list[AccountEvent]:
        table = schema.console_account_events
        query = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AccountEvent(row.at, row.actor, row.account, row.action, row.detail) for row in rows
        ]

    def add(self, actor: str, name: str, role: Role, password: str) -> User:
        user = self.accounts.add_user(name, role, password)
        with self.engine.begin() as conn:
            record(conn, actor, name, "added", f"role {role.value}")
        return user

    def reset_password(self, actor: str, name: str, password: str) -> None:
        """A new password; the account's sessions end (see :meth:`AccountStore.set_password`)."""
        if self._row(name).sso_subject is not None:
            raise AccountError(
                f"{name} signs in through single sign-on; their password is kept by the "
                "identity provider"
            )
        self.accounts.set_password(name, password)
        with self.engine.begin() as conn:
            record(conn, actor, name, "password reset", None)

    def disable(self, actor: str, name: str) -> None:
        """Disable ``name`` and end every session of theirs at once."""
        if actor == name:
            raise AccountError("you cannot disable your own account; ask another admin")
        users = schema.console_users
        with self.engine.begin() as conn:
            row = self._locked_row(conn, name)
            if row.disabled_at is not None:
                return
            if Role(row.role) is Role.ADMIN:
                self._keep_an_admin(conn, name)
            conn.execute(
                users.update().where(users.c.id == row.id).values(disabled_at=datetime.now(UTC))
            )
            conn.execute(
                schema.console_sessions.delete().where(schema.console_sessions.c.user_id == row.id)
            )
            record(conn, actor, name, "disabled", "sessions ended")

    def enable(self, actor: str, name: str) -> None:
        users = schema.console_users
        with self.engine.begin() as conn:
            row = self._locked_row(conn, name)
            if row.disabled_at is None:
                return
            conn.execute(users.update().where(users.c.id == row.id).values(disabled_at=None))
            record(conn, actor, name, "enabled", None)

    def change_role(self, actor: str, name: str, role: Role) -> None:
        users = schema.console_users
        with self.engine.begin() as conn:
            row = self._locked_row(conn, name)
            before = Role(row.role)
            if before is role:
                return
            if before is Role.ADMIN:
                if actor == name:
                    raise AccountError("you cannot take the admin role from yourself")
                self._keep_an_admin(conn, name)
            conn.execute(users.update().where(users.c.id == row.id).values(role=role.value))
            record(conn, actor, name, "role changed", f"{before.value} → {role.value}")

    def _row(self, name: str) -> sa.Row:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.console_users).where(schema.console_users.c.name == name)
            ).first()
        if row is None:
            raise AccountError(f"no account named {name!r}")
        return row

    def _locked_row(self, conn: sa.Connection, name: str) -> sa.Row:
        query = (
            sa.select(schema.console_users)
            .where(schema.console_users.c.name == name)
            .with_for_update()
        )
        row = conn.execute(query).first()
        if row is None:
            raise AccountError(f"no account named {name!r}")
        return row

    def _keep_an_admin(self, conn: sa.Connection, leaving: str) -> None:
        """Refuse a change that would leave no enabled admin (rows locked on PostgreSQL)."""
        users = schema.console_users
        others = conn.execute(
            sa.select(users.c.id)
            .where(
                users.c.role == Role.ADMIN.value,
                users.c.disabled_at.is_(None),
                users.c.name != leaving,
            )
            .with_for_update()
        ).all()
        if not others:
            raise AccountError(
                f"{leaving} is the last enabled admin; make another account admin first"
            )


def record(conn: sa.Connection, actor: str, account: str, action: str, detail: str | None) -> None:
    """One audit row, in the caller's transaction."""
    conn.execute(
        schema.console_account_events.insert().values(
            at=datetime.now(UTC), actor=actor, account=account, action=action, detail=detail
        )
    )
