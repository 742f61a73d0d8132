"""Staff account administration on every store backend (migration 0005_staff_accounts)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from adapters.web.accounts import AccountError, AccountStore, Role
from adapters.web.staff import StaffDirectory
from bot.settings import Settings
from bot.store import open_store
from tests.databases import BACKENDS, postgres_url  # noqa: F401 - fixture

PASSWORD = "a-long-enough-password"
HOUR = timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def accounts(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, _env_file=None)
    else:
        settings = Settings(database_url=request.getfixturevalue("postgres_url"), _env_file=None)
    store = open_store(settings)
    yield AccountStore(store.engine)
    store.close()


@pytest.fixture
def names():
    """Names unique to this test: the PostgreSQL schema is shared by the session."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"


def test_disabling_ends_sessions_at_once_and_blocks_sign_in(accounts, names):
    staff = StaffDirectory(accounts)
    ada, sam = names("ada"), names("sam")
    staff.add("cli", ada, Role.ADMIN, PASSWORD)
    user = staff.add(ada, sam, Role.SUPPORT, PASSWORD)
    token = accounts.start_session(user, lifetime=HOUR)
    assert accounts.session_user(token) == user

    staff.disable(ada, sam)

    assert accounts.session_user(token) is None
    assert accounts.authenticate(sam, PASSWORD) is None
    listed = {account.name: account for account in staff.staff()}
    assert not listed[sam].enabled and listed[ada].enabled

    staff.enable(ada, sam)

    assert accounts.session_user(token) is None, "an ended session stays ended"
    assert accounts.authenticate(sam, PASSWORD) == user


def test_role_changes_take_effect_in_live_sessions(accounts, names):
    staff = StaffDirectory(accounts)
    ada, sam = names("ada"), names("sam")
    staff.add("cli", ada, Role.ADMIN, PASSWORD)
    user = staff.add(ada, sam, Role.SUPPORT, PASSWORD)
    token = accounts.start_session(user, lifetime=HOUR)

    staff.change_role(ada, sam, Role.ADMIN)

    assert accounts.session_user(token).role is Role.ADMIN


def test_a_password_reset_hashes_with_argon2_and_ends_sessions(accounts, names):
    staff = StaffDirectory(accounts)
    ada, sam = names("ada"), names("sam")
    staff.add("cli", ada, Role.ADMIN, PASSWORD)
    user = staff.add(ada, sam, Role.SUPPORT, PASSWORD)
    token = accounts.start_session(user, lifetime=HOUR)

    staff.reset_password(ada, sam, "another-long-password")

    assert accounts.session_user(token) is None
    assert accounts.authenticate(sam, PASSWORD) is None
    assert accounts.authenticate(sam, "another-long-password") == user
    with accounts.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT password_hash FROM console_users WHERE name = ?"
            if accounts.engine.dialect.name == "sqlite"
            else "SELECT password_hash FROM console_users WHERE name = %s",
            (sam,),
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    with pytest.raises(AccountError, match="at least 10"):
        staff.reset_password(ada, sam, "short")


def test_no_admin_can_lock_every_admin_out(accounts, names):
    staff = StaffDirectory(accounts)
    ada, bea = names("ada"), names("bea")
    staff.add("cli", ada, Role.ADMIN, PASSWORD)
    for others in staff.staff():  # earlier tests' admins on the shared PostgreSQL schema
        if others.role is Role.ADMIN and others.name != ada and others.enabled:
            staff.disable(ada, others.name)

    with pytest.raises(AccountError, match="your own account"):
        staff.disable(ada, ada)
    with pytest.raises(AccountError, match="from yourself"):
        staff.change_role(ada, ada, Role.SUPPORT)
    staff.add(ada, bea, Role.SUPPORT, PASSWORD)
    with pytest.raises(AccountError, match="last enabled admin"):
        staff.disable(bea, ada)

    staff.change_role(ada, bea, Role.ADMIN)
    staff.disable(bea, ada)

    assert not {a.name: a for a in staff.staff()}[ada].enabled


def test_every_change_is_audited_without_passwords(accounts, names):
    staff = StaffDirectory(accounts)
    ada, sam = names("ada"), names("sam")
    staff.add("cli", ada, Role.ADMIN, PASSWORD)
    staff.add(ada, sam, Role.SUPPORT, PASSWORD)
    staff.change_role(ada, sam, Role.ADMIN)
    staff.reset_password(ada, sam, "another-long-password")
    staff.disable(ada, sam)
    staff.enable(ada, sam)

    trail = [
        (e.actor, e.action, e.detail)
        for e in reversed(staff.events(limit=500))
        if e.account in {ada, sam}
    ]

    assert trail == [
        ("cli", "added", "role admin"),
        (ada, "added", "role support"),
        (ada, "role changed", "support → admin"),
        (ada, "password reset", None),
        (ada, "disabled", "sessions ended"),
        (ada, "enabled", None),
    ]
    assert not any(PASSWORD in str(row) for row in trail)


def test_unknown_accounts_are_named_in_the_error(accounts, names):
    staff = StaffDirectory(accounts)
    with pytest.raises(AccountError, match="no account named"):
        staff.disable("cli", names("nobody"))
