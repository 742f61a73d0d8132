"""Checklist coverage on the admin page: an ingest that removes the policy's retention
section shows the checklist item it covered as "coverage changed"."""

from __future__ import annotations

import re

import pytest

from adapters.web.accounts import Role
from tests.adapters.web.test_web_admin import wait_for_job

RETENTION = "### 5.3 Retention of prompts and outputs"


@pytest.fixture
async def admin(start_console, own_engine, sources):
    harness = await start_console(engine_=own_engine, sources=[sources])
    harness.add_user("ada", Role.ADMIN)
    await harness.sign_in("ada")
    harness.sources = sources
    return harness


async def test_an_ingest_removing_a_checklist_topic_shows_as_coverage_changed(admin):
    page = await (await admin.client.get("/console/admin")).text()
    assert "No ingest with changes has recorded the coverage yet" in page

    policy = admin.sources / "example-genai-policy.md"
    text = policy.read_text(encoding="utf-8")
    start = text.index(RETENTION)
    end = text.index("### 5.4 ", start)
    policy.write_text(text[:start] + text[end:], encoding="utf-8")

    response = await admin.post("/console/admin/ingest", allow_redirects=False)
    job = await wait_for_job(admin, response.headers["Location"])
    assert job["state"] == "done"
    [removed] = job["report"]["changes"]
    assert removed["change"] == "removed" and removed["section"].endswith(
        "5.3 Retention of prompts and outputs"
    )
    coverage = job["report"]["coverage"]
    moved = {c["item"]: (c["before"], c["after"]) for c in coverage["changed"]}
    assert "privacy.retention" in moved
    before, after = moved["privacy.retention"]
    assert before == "covered" and after != "covered"
    assert coverage["counts"]["covered"] == coverage["counts_before"]["covered"] - len(
        [c for c in coverage["changed"] if c["before"] == "covered"]
    ) + len([c for c in coverage["changed"] if c["after"] == "covered"])

    page = await (await admin.client.get("/console/admin")).text()
    assert "Coverage changed with this ingest:" in page
    line = re.search(r"<li><strong>privacy\.retention</strong>: ([^<]*)</li>", page)
    assert line and line.group(1) == f"covered → {after}"
