"""The server around the console: /metrics, /healthz with the database, JSON logs, users CLI."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys

import sqlalchemy as sa

from adapters.cli import main
from adapters.logs import AccessLogger, JsonFormatter, configure_server_logging
from adapters.metrics import Metrics
from adapters.web.accounts import AccountStore, Role
from bot.settings import Settings
from bot.store import open_store

SAMPLE = re.compile(r"^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$|^[a-z_]+(\{[^}]*\})? \+Inf$")


async def test_metrics_count_questions_by_status_in_prometheus_text(console):
    await console.post("/console/ask", {"question": "can I use ChatGPT for work emails?"})
    await console.post("/console/ask", {"question": "what is on the canteen menu on Friday?"})
    response = await console.client.get("/metrics")
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in lines), lines
    assert 'policybot_questions_total{platform="web",status="answered"} 1' in lines
    assert 'policybot_questions_total{platform="web",status="not_found"} 1' in lines
    assert "policybot_not_found_ratio 0.5" in lines
    assert "policybot_answer_latency_seconds_count 2" in lines
    assert "# TYPE policybot_answer_latency_seconds histogram" in text


async def test_a_broken_gauge_leaves_the_other_metrics(console):
    async def broken():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("down"))

    console.context.metrics.add_gauge("policybot_broken", "never works", broken)
    response = await console.client.get("/metrics")
    assert response.status == 200
    assert "policybot_broken" not in await response.text()


async def test_ingest_runs_are_counted_by_result():
    metrics = Metrics()
    metrics.observe_ingest(failed_files=0)
    metrics.observe_ingest(failed_files=2)
    text = await metrics.render()
    assert 'policybot_ingest_runs_total{result="ok"} 1' in text
    assert 'policybot_ingest_runs_total{result="partial"} 1' in text


async def test_healthz_reports_a_broken_database_as_unhealthy(console):
    healthy = await console.client.get("/healthz")
    assert healthy.status == 200
    assert (await healthy.json())["checks"]["database"] == "ok"
    broken = sa.create_engine("sqlite:////nonexistent-folder/policybot.db")
    console.console.accounts.engine = broken
    response = await console.client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"].startswith("error:")


def test_logs_are_json_lines_off_a_terminal():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_server_logging("INFO", stream=stream)
    try:
        logging.getLogger("policybot.test").info("ingest done", extra={"chunks": 3})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["message"] == "ingest done" and record["chunks"] == 3
    assert record["level"] == "INFO" and record["time"].endswith("+00:00")


async def test_the_access_log_keeps_no_query_string_or_client_address(console, caplog):
    logger = logging.getLogger("policybot.access")
    access = AccessLogger(logger, "")
    request = console.client.make_url("/console/signin?next=/console/admin&name=alice")

    class Request:
        method = "GET"
        rel_url = request.relative()
        remote = "203.0.113.9"

    class Response:
        status = 200

    with caplog.at_level(logging.INFO, logger="policybot.access"):
        access.log(Request(), Response(), 0.012)
    line = JsonFormatter().format(caplog.records[-1])
    assert "alice" not in line and "203.0.113.9" not in line
    assert json.loads(line)["path"] == "/console/signin"


async def test_question_text_never_reaches_the_logs(console, caplog):
    with caplog.at_level(logging.DEBUG):
        await console.post("/console/ask", {"question": "my HKID is A123456(7), may I use it?"})
    assert "A123456" not in caplog.text


def test_users_add_and_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
    assert main(["users", "add", "sam", "--role", "support"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["users", "add", "bob", "--role", "admin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed == [
        {"name": "sam", "role": "support", "disabled": False, "single_sign_on": False}
    ]
    store = AccountStore(open_store(Settings(data_dir=tmp_path / "data", _env_file=None)).engine)
    assert store.authenticate("sam", "a-long-enough-password").role is Role.SUPPORT


def test_users_add_as_a_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "users", "add", "ada", "--role", "admin"],
        input="a-long-enough-password\n",
        capture_output=True,
        text=True,
        env={"POLICYBOT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "created ada (admin)" in result.stderr


def test_server_logs_follow_stderr_when_it_is_swapped_and_closed(monkeypatch, capsys):
    """The default handler writes to the stderr of the moment, so a stream swapped out and
    closed (as a test's capture is, after a ``policybot serve`` run) breaks no later record."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    try:
        configure_server_logging("INFO")
        logging.getLogger("policybot.test").info("one")
        first.close()
        monkeypatch.setattr("sys.stderr", second)
        logging.getLogger("policybot.test").info("two")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert json.loads(second.getvalue())["message"] == "two"
    assert "Logging error" not in second.getvalue() + capsys.readouterr().err
