"""The console's list of answers that went stale, in a real browser: support staff see it
with where each note stands but no button; an admin notifies the asker of a Slack answer
once, and an answer asked in the console is listed as one that cannot be notified."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import web as console_adapter
from adapters.server import ServerContext, create_app
from adapters.web.accounts import Role
from adapters.web.settings import WebSettings
from bot.answering.engine import Engine
from bot.assembly import build_assistant
from bot.handoff.stale_notes import note_states
from bot.handoff.tickets import AnswerRecord
from bot.store import open_store
from tests.adapters.web import test_web_browser as base
from tests.adapters.web.conftest import PASSWORD
from tests.adapters.web.live import LiveServer, start_live_server
from tests.announce_fixtures import record_changes

browser = base.browser
sign_in = base.sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SLACK_THREAD = '{"channel": "D0MEI", "thread_ts": "1736929812.345679"}'


@pytest.fixture
def live(engine: Engine, tmp_path: Path) -> Iterator[LiveServer]:
    """A console with a store of its own, holding a Slack answer and a console answer that
    both cited the section a later ingest changed."""
    settings = engine.settings.model_copy(update={"data_dir": tmp_path / "data"})
    assistant = build_assistant(engine, store=open_store(settings))
    context = ServerContext(settings=settings, engine=engine, assistant=assistant)

    def setup(app, ctx):
        console_adapter.setup(app, ctx, settings=WebSettings(_env_file=None))

    server = start_live_server(create_app(context, [setup]), context)
    accounts = context.extras["web_console"].accounts
    accounts.add_user("ada", Role.ADMIN, PASSWORD)
    accounts.add_user("sam", Role.SUPPORT, PASSWORD)
    store = assistant.store
    answer = engine.answerer.answer("Can I paste customer data into ChatGPT?")
    cited = answer.citations[0]
    server.answers = {
        platform: assistant.handoff.record_answer(
            AnswerRecord(
                platform,
                "k" * 64,
                answer.question,
                answer.text,
                answer.status.value,
                answer.citations,
                reply_to,
            )
        )
        for platform, reply_to in (("slack", SLACK_THREAD), ("web", None))
    }
    later = datetime.now(UTC)  # after both answers
    record_changes(
        store,
        (cited.section, "changed", "Never paste customer data into any AI tool."),
        title=cited.document,
        at=later,
        effective=later.date().isoformat(),
    )
    server.store = store
    yield server
    server.stop()


@pytest.fixture
def page(browser, live) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def test_staff_see_the_list_and_an_admin_notifies_the_asker_once(page, live) -> None:
    slack, console = live.answers["slack"], live.answers["web"]
    sign_in(page, "sam")
    page.goto("/console/support")
    page.get_by_role("link", name="Answers that went stale").click()
    staff_view = page.locator("#stale")
    assert "can be notified" in staff_view.locator(f"li[data-answer='{slack}']").inner_text()
    assert "cannot be notified (asked in the console)" in (
        staff_view.locator(f"li[data-answer='{console}']").inner_text()
    )
    assert staff_view.get_by_role("button").count() == 0
    assert page.goto("/console/admin").status == 403

    page.context.clear_cookies()
    sign_in(page, "ada")
    page.goto("/console/admin")
    row = page.locator(f"#stale li[data-answer='{slack}']")
    assert page.locator(f"#stale li[data-answer='{console}']").get_by_role("button").count() == 0
    row.get_by_role("button", name="Notify the asker").click()
    page.wait_for_load_state()
    assert "Note sent to 1 asker." in page.locator("main").inner_text()
    state = note_states(live.store, [slack])[slack]
    assert state.requested_by == "ada" and state.sent_at is None  # no Slack in this process
    row = page.locator(f"#stale li[data-answer='{slack}']")
    assert "note requested by ada, not sent yet" in row.inner_text()
    assert row.get_by_role("button", name="Send the note again").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#stale").screenshot(path=str(SCREENSHOTS / "admin-stale-notes.png"))
