"""``policybot db``: the hand-off store's schema and housekeeping.

``upgrade`` applies pending migrations (the server also does this when it starts);
``status`` shows the revision and what waits for delivery (notifications, and notes to the
askers of stale answers), with how much of it failed every attempt; ``prune`` deletes
what is kept only for a while (delivery claims, old answers, sent notifications), e.g. from
a daily cron job.
"""

from __future__ import annotations

import argparse
import json

import sqlalchemy as sa

from bot.handoff.outbox import given_up_count, pending_count
from bot.handoff.stale_notes import given_up_note_count, pending_note_count
from bot.privacy.retention import purge_with
from bot.settings import Settings
from bot.store import connect, open_store
from bot.store.migrate import current_revision, head_revision, upgrade
from bot.store.schema import StaleNoteRow


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="the hand-off database: upgrade, status, prune")
    commands = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    commands.add_parser("upgrade", help="apply pending migrations").set_defaults(
        handler=handle_upgrade
    )
    commands.add_parser("status", help="schema revision and what waits for delivery").set_defaults(
        handler=handle_status
    )
    commands.add_parser(
        "prune", help="run the retention purge now (the server runs it daily)"
    ).set_defaults(handler=handle_prune)


def handle_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = connect(settings.resolved_database_url)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"already at revision {after}")
    else:
        print(f"upgraded from {before or 'an empty database'} to revision {after}")
    return 0


def handle_status(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings, upgrade=False)
    try:
        revision = current_revision(store.engine)
        pending = pending_count(store) if revision is not None else 0
        given_up = given_up_count(store) if revision is not None else 0
        # A database not upgraded past the stale notes' migration has none waiting.
        notes = revision is not None and sa.inspect(store.engine).has_table(
            StaleNoteRow.__tablename__
        )
        pending_notes = pending_note_count(store) if notes else 0
        given_up_notes = given_up_note_count(store) if notes else 0
    finally:
        store.close()
    print(
        json.dumps(
            {
                "dialect": store.dialect,
                "revision": revision,
                "head": head_revision(),
                "pending_notifications": pending,
                "failed_notifications": given_up,
                "pending_stale_notes": pending_notes,
                "failed_stale_notes": given_up_notes,
            }
        )
    )
    return 0


def handle_prune(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        print(json.dumps(purge_with(store, settings)))
    finally:
        store.close()
    return 0
