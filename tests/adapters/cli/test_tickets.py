"""``policybot tickets``, ``policybot db`` and ``policybot gaps`` as support staff use them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.cli import main
from bot.handoff.ports import Reporter
from bot.handoff.submissions import Handoff
from bot.handoff.tickets import AnswerRecord, GeneralFeedback, IncidentReport
from bot.settings import Settings
from bot.store import open_store

ROOT = Path(__file__).resolve().parents[3]
MEI = Reporter("slack", "U123", "D123", "Mei")


def seed(settings: Settings) -> list[str]:
    store = open_store(settings)
    handoff = Handoff(store, settings)
    references = [
        handoff.report_incident(
            IncidentReport(
                reporter=MEI,
                what_happened="Pasted a customer list into ChatGPT",
                tool="ChatGPT",
                data_involved="about 40 names",
            )
        ).ticket.reference,
        handoff.general_feedback(
            GeneralFeedback(reporter=MEI, text="Allow Copilot for interns")
        ).ticket.reference,
    ]
    handoff.record_answer(AnswerRecord("slack", "k", "Who approves AI vendors?", "…", "not_found"))
    handoff.record_answer(AnswerRecord("slack", "k", "who approves ai vendors", "…", "not_found"))
    store.close()
    return references


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_show_print_tables_or_exact_json(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    incident, feedback = seed(cli_settings)
    code, out, err = run(capsys, "tickets", "list")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "ID",
        "KIND",
        "STATE",
        "SEVERITY",
        "AGE",
        "ASSIGNEE",
        "TITLE",
    ]
    assert [line.split()[0] for line in out.splitlines()[1:]] == [feedback, incident]
    assert "2 of 2 shown" in err

    code, out, _ = run(
        capsys, "tickets", "list", "--kind", "incident", "--status", "open", "--json"
    )
    page = json.loads(out)
    assert code == 0 and len(out.splitlines()) == 1
    assert (page["total"], page["next_cursor"]) == (1, None)
    [ticket] = page["tickets"]
    assert set(ticket) == {
        "reference", "kind", "state", "severity", "title", "body", "details", "reporter",
        "assignee", "created_at", "updated_at", "ack_due_at", "claimed_at", "resolved_at",
        "resolution", "overdue",
    }  # fmt: skip
    assert (ticket["reference"], ticket["kind"], ticket["overdue"]) == (incident, "incident", False)

    code, out, _ = run(capsys, "tickets", "list", "--overdue", "--json")
    assert json.loads(out)["total"] == 0

    code, out, _ = run(capsys, "tickets", "show", incident.lower())
    assert code == 0 and out.startswith(f"{incident}  incident  open")
    assert "tool: ChatGPT" in out and "slack:U123  created - -> open" in out


def test_claim_comment_resolve_reopen_and_severity_leave_an_audit_trail(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    incident, _ = seed(cli_settings)
    assert run(capsys, "tickets", "claim", incident, "--as", "alice")[1].strip() == (
        f"{incident}: claimed, alice, severity high"
    )
    assert run(capsys, "tickets", "comment", incident, "Phoned Mei", "--as", "alice")[0] == 0
    assert run(capsys, "tickets", "severity", incident, "critical", "--as", "alice")[0] == 0
    code, out, _ = run(
        capsys, "tickets", "resolve", incident, "--note", "Chat deleted", "--as", "alice"
    )
    assert code == 0 and "resolved" in out
    assert run(capsys, "tickets", "reopen", incident, "--as", "bob", "--unassign")[1].strip() == (
        f"{incident}: open, severity critical"
    )
    detail = json.loads(run(capsys, "tickets", "show", incident, "--json")[1])
    assert [(e["actor"], e["action"]) for e in detail["events"]] == [
        ("slack:U123", "created"), ("alice", "claimed"), ("alice", "commented"),
        ("alice", "severity"), ("alice", "resolved"), ("bob", "reopened"),
    ]  # fmt: skip
    assert detail["comments"][0]["text"] == "Phoned Mei"


def test_bad_input_and_unknown_ids_exit_2_with_the_reason(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    incident, _ = seed(cli_settings)
    run(capsys, "tickets", "claim", incident, "--as", "alice")
    code, out, err = run(capsys, "tickets", "claim", incident, "--as", "bob")
    assert (code, out) == (2, "") and "already claimed by alice" in err
    code, _, err = run(capsys, "tickets", "show", "INC-2026-9999")
    assert code == 2 and "no ticket 'INC-2026-9999'" in err
    code, _, err = run(capsys, "tickets", "resolve", incident, "--note", " ", "--as", "bob")
    assert code == 2 and "note: is empty" in err
    code, _, err = run(capsys, "tickets", "comment", incident, "x" * 4001, "--as", "bob")
    assert code == 2 and "the limit is 4,000" in err
    code, _, err = run(capsys, "tickets", "list", "--cursor", "abc")
    assert code == 2 and "cursor" in err
    with pytest.raises(SystemExit) as usage:
        main(["tickets", "severity", incident, "urgent"])
    assert usage.value.code == 2


def test_export_writes_csv_to_stdout(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    incident, feedback = seed(cli_settings)
    code, out, err = run(capsys, "tickets", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["reference"] for r in rows] == [incident, feedback]
    assert "2 tickets exported" in err


def test_db_upgrade_status_and_prune(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and ("upgraded from" in out or "already at revision" in out)
    assert run(capsys, "db", "upgrade")[1].startswith("already at revision")
    seed(cli_settings)
    status = json.loads(run(capsys, "db", "status")[1])
    assert status["revision"] == status["head"] and status["pending_notifications"] == 2
    assert set(json.loads(run(capsys, "db", "prune")[1])) >= {
        "deliveries", "answers", "notifications", "conversations",
    }  # fmt: skip


def test_gaps_groups_unanswered_questions(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(cli_settings)
    code, out, _ = run(capsys, "gaps", "--lexical", "--json")
    [gap] = json.loads(out)["gaps"]
    assert code == 0 and gap["count"] == 2 and gap["not_found"] == 2
    code, out, _ = run(capsys, "gaps", "--lexical")
    assert out.startswith("  1. who approves ai vendors (asked 2 times)")


def test_the_console_script_exits_2_for_an_unknown_ticket(
    cli_settings: Settings, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "tickets", "show", "ESC-2026-0404", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert "no ticket 'ESC-2026-0404'" in result.stderr
    # Migrating the store on the way logs one line of the store's own, not Alembic's line
    # per migration step. (SQLite: this command creates the database; the PostgreSQL
    # fixture's database already exists at the head.)
    assert "Running upgrade" not in result.stderr
    if cli_settings.resolved_database_url.startswith("sqlite"):
        assert "migrated from empty to" in result.stderr


def test_show_prints_times_in_the_organisations_time_zone(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    incident, _ = seed(cli_settings)
    detail = json.loads(run(capsys, "tickets", "show", incident, "--json")[1])
    created = datetime.fromisoformat(detail["created_at"])
    monkeypatch.setenv("POLICYBOT_TIMEZONE", "Asia/Hong_Kong")

    code, out, _ = run(capsys, "tickets", "show", incident)

    hong_kong = created.astimezone(ZoneInfo("Asia/Hong_Kong"))
    assert code == 0
    assert f"Created:     {hong_kong:%Y-%m-%d %H:%M} HKT" in out
    assert "UTC" not in out
