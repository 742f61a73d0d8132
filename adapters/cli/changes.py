"""``policybot changes``: the sections each ingest added, changed or removed.

Read from the database's document store, where every ingest records them once (whichever
process ran it). ``--json`` prints one object per changed section.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re

from bot.answering.engine import Engine, build_engine
from bot.answering.stale import StaleAnswer, stale_answers
from bot.errors import ConfigurationError
from bot.handoff.announcements import Announcement, NothingToAnnounce, announce, announcements
from bot.handoff.stale_notes import (
    QUEUED,
    REQUEUED,
    NoteState,
    note_states,
    note_status,
    notify,
)
from bot.models import Answer
from bot.settings import Settings
from bot.store import Store, open_store
from bot.store.documents import DocumentStore
from knowledge.changes import SectionChange, word_diff


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "changes", help="sections the ingests added, changed or removed, with a word diff"
    )
    parser.add_argument(
        "--since",
        metavar="DATE|VERSION",
        help="only changes on or after a date (YYYY-MM-DD), or after the ingest of a version",
    )
    parser.add_argument(
        "--document", metavar="D", help="only documents whose file name or title contains D"
    )
    parser.add_argument(
        "--stale",
        action="store_true",
        help="answers already given that cited a section changed or removed since",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="with --stale: send each asker who can be reached a note with the updated answer, "
        "on the platform they asked on (once per answer; a note not sent yet is queued "
        "again); the server delivers it",
    )
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="ID",
        help="with --notify: only this stale answer (repeat for more)",
    )
    parser.add_argument(
        "--announce",
        action="store_true",
        help="post a summary of the changes not announced yet to the configured Slack channel "
        "and Teams conversation (POLICYBOT_SLACK_ANNOUNCE_CHANNEL, "
        "POLICYBOT_TEAMS_ANNOUNCE_CONVERSATION); the server delivers it",
    )
    parser.add_argument(
        "--announced",
        action="store_true",
        help="the latest announcements and their delivery (with the last error of one not "
        "posted yet)",
    )
    parser.add_argument(
        "--by", metavar="NAME", help="who asks for the announcement (default: the OS user)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    if args.since and re.match(r"^\d{4}-", args.since) and not _valid_date(args.since):
        raise ConfigurationError(f"--since {args.since!r} is not a YYYY-MM-DD date")
    store = open_store(settings)
    try:
        if args.announce:
            return _announce(store, settings, args)
        if args.announced:
            return _print_announced(announcements(store), as_json=args.json)
        if args.notify or args.answer:
            if not args.stale or not args.notify:
                raise ConfigurationError(
                    "--notify and --answer go with --stale: policybot "
                    "changes --stale --notify [--answer ID ...]"
                )
            return _notify(store, settings, args)
        if args.stale:
            stale = stale_answers(store, zone=settings.zone)
            states = note_states(store, [item.answer_id for item in stale])
            return _print_stale(stale, states, as_json=args.json)
        changes = DocumentStore(store).changes(since=args.since, document=args.document)
    finally:
        store.close()
    if args.json:
        for change in changes:
            print(json.dumps(change.as_json(), ensure_ascii=False))
        return 0
    if not changes:
        print("No recorded changes" + (f" since {args.since}" if args.since else "") + ".")
        return 0
    for change in changes:
        print(render(change))
    return 0


def _announce(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    by = args.by or f"{getpass.getuser()} (policybot changes)"
    try:
        announcement = announce(store, settings, by=by, since=args.since)
    except NothingToAnnounce as nothing:
        print(f"{nothing}.")
        return 0
    if args.json:
        print(json.dumps(announcement.as_json(), ensure_ascii=False))
        return 0
    where = ", ".join(
        f"{platform} {channel}" for platform, channel in announcement.channels.items()
    )
    print(
        f"Announcement {announcement.id} of {announcement.change_count} changed section(s) "
        f"recorded for {where}; a running server posts it (policybot serve delivers the outbox)."
    )
    for item in announcement.sections:
        print(f"  {item.change.upper():<8} {item.document} › {item.section}")
    return 0


def _print_announced(made: list[Announcement], *, as_json: bool) -> int:
    if as_json:
        for announcement in made:
            print(json.dumps(announcement.as_json(), ensure_ascii=False))
        return 0
    if not made:
        print("No announcements yet.")
    for announcement in made:
        if announcement.delivered_at is not None:
            state = "posted to " + ", ".join(sorted(announcement.delivered_to))
        else:
            state = "waiting to be posted"
            if announcement.delivered_to:
                state += " (posted to " + ", ".join(sorted(announcement.delivered_to)) + ")"
            if announcement.last_error:
                state += f"; last attempt failed: {announcement.last_error}"
        print(
            f"{announcement.id} {announcement.created_at:%Y-%m-%d %H:%M} "
            f"{announcement.change_count} change(s) by {announcement.requested_by}: {state}"
        )
    return 0


def _notify(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    by = args.by or f"{getpass.getuser()} (policybot changes)"
    engine: Engine | None = None

    def answer(question: str) -> Answer:
        nonlocal engine
        if engine is None:  # the model loads only if some note has to be composed
            engine = build_engine(settings)
        return engine.answerer.answer(question)

    stale = stale_answers(store, zone=settings.zone)
    outcomes = notify(store, stale, answer, by=by, answer_ids=args.answer, zone=settings.zone)
    if args.json:
        for outcome in outcomes:
            print(json.dumps(outcome.as_json(), ensure_ascii=False))
        return 0
    if not outcomes:
        print("No answers went stale: nobody to notify.")
    for outcome in outcomes:
        print(f"{outcome.answer_id} ({outcome.platform}): {outcome.detail}")
    if any(outcome.state in (QUEUED, REQUEUED) for outcome in outcomes):
        print("A running server sends the notes (policybot serve delivers the outbox).")
    return 0


def _note_line(item: StaleAnswer, state: NoteState | None) -> str:
    status = note_status(item, state)
    if item.reachable and (state is None or state.sent_at is None):
        status += f" (policybot changes --stale --notify --answer {item.answer_id})"
    return status


def _print_stale(stale: list[StaleAnswer], states: dict[str, NoteState], *, as_json: bool) -> int:
    if as_json:
        for item in stale:
            state = states.get(item.answer_id)
            data = item.as_json() | {"note": state.as_json() if state else None}
            print(json.dumps(data, ensure_ascii=False))
        return 0
    if not stale:
        print("No answers went stale: none cited a section changed since.")
    for item in stale:
        print(
            f"{item.answer_id} {item.asked_at:%Y-%m-%d %H:%M} {item.platform}: "
            f"{item.question!r}\n"
            f"         cited {item.document} › {item.section}, {item.change} on "
            f"{item.changed_at:%Y-%m-%d} ({item.old_version or '—'} → {item.new_version or '—'})"
            f"\n         {word_diff(item.old_text or '', item.new_text or '')}"
            f"\n         {_note_line(item, states.get(item.answer_id))}"
        )
    return 0


def render(change: SectionChange) -> str:
    versions = f"{change.old_version or '—'} → {change.new_version or '—'}"
    head = (
        f"{change.change.upper():<8} {change.document} › {change.section or change.document}"
        f"  [{versions}; effective {change.effective}; recorded {change.recorded_at}]"
    )
    return f"{head}\n         {change.diff}"


def _valid_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
