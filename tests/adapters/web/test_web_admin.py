"""Admin ingestion from the console: upload an edited policy, follow the run, see the change."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from adapters.web.accounts import Role
from bot.store.documents import DocumentStore, UnknownDocument
from knowledge.index import read_pointer

OTTER_SECTION = (
    "\n### 2.4 Otter.ai for meeting transcripts\n\n"
    "Otter.ai is approved for transcribing internal meetings from 1 March 2026, provided every "
    "participant agrees at the start of the meeting. Do not use it in meetings with customers.\n"
)
QUESTION = "Can I use Otter.ai to transcribe meetings?"


def edited_policy(sources: Path) -> bytes:
    text = (sources / "example-genai-policy.md").read_text(encoding="utf-8")
    text = text.replace('version: "2.1"', 'version: "2.2"', 1)
    marker = "## 3. "
    position = text.index(marker)
    return (text[:position] + OTTER_SECTION.lstrip("\n") + "\n" + text[position:]).encode()


def upload_form(name: str, data: bytes, token: str) -> aiohttp.FormData:
    """The upload form as a browser sends it: the CSRF token first, then the file."""
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form


async def ask(harness, question: str) -> str:
    response = await harness.post("/console/ask", {"question": question})
    assert response.status == 200
    return await response.text()


async def wait_for_job(harness, location: str) -> dict:
    for _ in range(600):
        response = await harness.client.get(f"{location}?format=json")
        job = await response.json()
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the ingest run did not finish in 60 s")


@pytest.fixture
async def admin(start_console, own_engine, sources):
    harness = await start_console(engine_=own_engine, sources=[sources])
    harness.add_user("ada", Role.ADMIN)
    await harness.sign_in("ada")
    harness.sources = sources
    return harness


async def test_uploading_an_edited_policy_changes_the_next_answer(admin):
    before = await ask(admin, QUESTION)
    assert "2.4 Otter.ai" not in before

    folder_copy = (admin.sources / "example-genai-policy.md").read_bytes()
    token = await admin.csrf()
    response = await admin.client.post(
        "/console/admin/upload",
        data=upload_form("example-genai-policy.md", edited_policy(admin.sources), token),
        allow_redirects=False,
    )
    assert response.status == 303
    preview = response.headers["Location"]
    assert preview == "/console/admin/documents/example-genai-policy.md/preview"
    # A draft: shown for checking, answering nobody yet.
    page = await (await admin.client.get(preview)).text()
    assert "Harbourview Trading Limited" in page and "2.2" in page
    assert "2.4 Otter.ai for meeting transcripts" in page
    assert "2.4 Otter.ai" not in await ask(admin, QUESTION)

    response = await admin.post(
        "/console/admin/documents/example-genai-policy.md/publish", allow_redirects=False
    )
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/console/admin/ingest/\d+", location)
    job = await wait_for_job(admin, location)
    assert job["state"] == "done"
    chunks = job["report"]["chunks"]
    # The new section is added; the version bump re-cites the policy's other sections; the
    # guidance documents are untouched.
    assert chunks["added"] == 1 and chunks["removed"] == 0
    assert chunks["updated"] > 40 and chunks["unchanged"] > 40
    # Recorded as one added section, the versions on either side named.
    [change] = job["report"]["changes"]
    assert change["change"] == "added" and change["section"].endswith(
        "2.4 Otter.ai for meeting transcripts"
    )
    assert (change["old_version"], change["new_version"]) == ("2.1", "2.2")
    # Kept in the shared database, not written into a source folder.
    assert (admin.sources / "example-genai-policy.md").read_bytes() == folder_copy
    [version] = DocumentStore(admin.console.services.store).versions("example-genai-policy.md")
    assert version.uploaded_by == "ada" and version.ingested_at is not None
    assert version.declared == "2.2"

    after = await ask(admin, QUESTION)
    assert "2.4 Otter.ai for meeting transcripts" in after
    assert "approved for transcribing internal meetings" in after

    page = await (await admin.client.get("/console/admin")).text()
    row = re.search(r"<tr>\s*<td[^>]*><a [^>]*>Harbourview.*?</tr>", page, re.S).group(0)
    assert re.search(r'<td class="nowrap"[^>]*>2\.2</td>', row), row
    assert re.search(r'<td class="nowrap"[^>]*>2025-10-01</td>', row), row
    assert "(publish by ada)" in page

    history = await (
        await admin.client.get("/console/admin/documents/example-genai-policy.md")
    ).text()
    assert "Version history" in history and "by ada" in history
    assert "{+Otter.ai is approved for transcribing" in history.replace("&#43;", "+")


async def test_a_file_with_no_front_matter_is_previewed_with_warnings_and_can_be_discarded(admin):
    token = await admin.csrf()
    menu = b"Team lunch menu for Friday.\n\nNoodles, rice and soup.\n"
    response = await admin.client.post(
        "/console/admin/upload",
        data=upload_form("lunch-menu.txt", menu, token),
        allow_redirects=False,
    )
    page = await (await admin.client.get(response.headers["Location"])).text()
    for warning in ("No title in the file", "No version", "No effective date", "No kind"):
        assert warning in page
    assert "Noodles" not in await ask(admin, "What is on the lunch menu on Friday?")

    response = await admin.post(
        "/console/admin/documents/lunch-menu.txt/discard", allow_redirects=False
    )
    assert response.status == 303
    assert DocumentStore(admin.console.services.store).documents() == []


async def test_a_disabled_document_leaves_the_index_with_its_history_kept(admin):
    # A source folder's file the store has not recorded yet (the index was built elsewhere).
    page = await (await admin.client.get("/console/admin/documents/example-genai-policy.md")).text()
    assert "Version history" in page and "Disable" in page
    response = await admin.post(
        "/console/admin/documents/example-genai-policy.md/state",
        {"state": "disabled"},
        allow_redirects=False,
    )
    job = await wait_for_job(admin, response.headers["Location"])
    assert job["state"] == "done" and job["report"]["chunks"]["removed"] > 40
    removed = {c["change"] for c in job["report"]["changes"]}
    assert removed == {"removed"}
    assert "Harbourview" not in await ask(admin, QUESTION)
    history = await (
        await admin.client.get("/console/admin/documents/example-genai-policy.md")
    ).text()
    assert "state <strong>disabled</strong>" in history and "not in the index" in history


async def test_the_job_page_shows_progress_and_the_report(admin):
    response = await admin.post("/console/admin/ingest", allow_redirects=False)
    location = response.headers["Location"]
    await wait_for_job(admin, location)
    page = await (await admin.client.get(location)).text()
    assert 'data-key="unchanged"' in page and "Finished" in page
    fragment = await (await admin.client.get(f"{location}?format=fragment")).text()
    assert fragment.lstrip().startswith('<p class="job-state"')


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("../escape.md", b"# T\n\ntext", "escape.md"),
        ("notes.exe", b"MZ", "unsupported file type"),
        (".hidden.md", b"# T\n\ntext", "use a file name"),
        ("empty.md", b"", "file is empty"),
        ("broken.pdf", b"%PDF-1.4 not really", "broken.pdf"),
    ],
)
async def test_a_bad_upload_is_refused_and_nothing_is_written(admin, name, data, message):
    before = sorted(p.name for p in admin.sources.rglob("*"))
    token = await admin.csrf()
    response = await admin.client.post("/console/admin/upload", data=upload_form(name, data, token))
    if name.startswith("../"):
        # The folder part is dropped: the file lands in the source folder or not at all.
        assert not (admin.sources.parent / "escape.md").exists()
        return
    assert response.status == 400
    assert message in await response.text()
    assert sorted(p.name for p in admin.sources.rglob("*")) == before
    assert DocumentStore(admin.console.services.store).documents() == []


async def test_the_chart_is_svg_and_counts_questions(admin):
    await ask(admin, "can I use ChatGPT for work emails?")
    page = await (await admin.client.get("/console/admin")).text()
    assert "1 question, 0 not_found (0%)" in page
    await ask(admin, "what is the canteen menu on Friday?")
    svg = await (await admin.client.get("/console/admin/chart.svg")).text()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "2 questions, 1 not_found (50%)" in svg


async def test_a_run_left_running_by_a_killed_process_shows_as_interrupted(start_console):
    first = await start_console()
    run = first.console.activity.start_ingest(trigger="upload", actor="ada")

    restarted = await start_console()  # the same database, no process ingesting

    [shown] = [r for r in restarted.console.activity.ingest_runs() if r.id == run]
    assert shown.finished_at is not None
    assert shown.error.startswith("interrupted")


async def test_a_document_in_a_subfolder_has_its_pages(start_console):
    harness = await start_console()
    harness.add_user("ada", Role.ADMIN)
    await harness.sign_in("ada")
    documents = DocumentStore(harness.console.services.store)
    text = b"# Remote work rules\n\n## 1 Tools\n\nUse approved tools only.\n"
    documents.add_upload("hr/remote-work.md", text, uploaded_by="ada", draft=True)

    for path in ("hr/remote-work.md", "hr%2Fremote-work.md"):
        preview = await harness.client.get(f"/console/admin/documents/{path}/preview")
        assert preview.status == 200, path
        assert "Remote work rules" in await preview.text()
    history = await harness.client.get("/console/admin/documents/hr/remote-work.md")
    assert history.status == 200 and "Version history" in await history.text()
    discarded = await harness.post(
        "/console/admin/documents/hr/remote-work.md/discard", allow_redirects=False
    )
    assert discarded.status == 303
    with pytest.raises(UnknownDocument):  # a new document's only draft, discarded
        documents.versions("hr/remote-work.md")


async def test_an_ingest_outside_the_console_is_dated_in_the_organisations_time_zone(
    start_console, own_engine
):
    zone = "America/New_York"  # far from UTC, where the index pointer keeps its time
    harness = await start_console(engine_=own_engine, timezone=zone)
    harness.add_user("ada", Role.ADMIN)
    await harness.sign_in("ada")
    built = datetime.fromisoformat(read_pointer(own_engine.index.client)["built"])
    local = built.astimezone(ZoneInfo(zone))

    page = await (await harness.client.get("/console/admin")).text()

    assert f"Last ingest: {local:%Y-%m-%d %H:%M} {local.tzname()} (outside the console)" in page
    assert built.isoformat() not in page
