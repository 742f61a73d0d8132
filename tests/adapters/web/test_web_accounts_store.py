"""Accounts, sessions and the console's logs on every store backend (migration 0002_console)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.web.accounts import AccountStore, Role
from bot.settings import Settings
from bot.store import open_store
from bot.store.activity import ActivityLog
from tests.databases import BACKENDS, postgres_url  # noqa: F401 - fixture

PASSWORD = "a-long-enough-password"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, _env_file=None)
    else:
        settings = Settings(database_url=request.getfixturevalue("postgres_url"), _env_file=None)
    opened = open_store(settings)
    yield opened
    opened.close()


def test_accounts_sessions_and_failures(store):
    accounts = AccountStore(store.engine)
    name = f"ada-{id(store)}"
    user = accounts.add_user(name, Role.ADMIN, PASSWORD)
    assert accounts.authenticate(name, PASSWORD) == user
    token = accounts.start_session(user, lifetime=timedelta(hours=1))
    assert accounts.session_user(token) == user
    accounts.end_session(token)
    assert accounts.session_user(token) is None
    accounts.record_login_failure(f"name:{name}")
    assert accounts.login_failures(f"name:{name}", window=timedelta(minutes=5)) == 1
    assert accounts.secret("csrf") == accounts.secret("csrf")


def test_question_counts_and_ingest_runs(store):
    activity = ActivityLog(store.engine)
    activity.record_question(platform="slack", status="not_found")
    today = activity.questions_per_day(days=1)[0]
    assert today.questions >= 1 and today.not_found >= 1
    run = activity.start_ingest(trigger="upload", actor="ada")
    activity.finish_ingest(run, report={"documents": 1})
    assert activity.ingest_runs(limit=1)[0].report == {"documents": 1}
