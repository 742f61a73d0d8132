"""The admin page's Announce button and checklist coverage line in a real browser, at
desktop width and on a 390 px phone: after a re-ingest that removed a policy section, the
coverage line says what moved, the button announces the change once, and nothing scrolls
sideways."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import web as console_adapter
from adapters.server import ServerContext, create_app
from adapters.web.accounts import Role
from adapters.web.settings import WebSettings
from bot.answering.engine import Engine, build_engine
from bot.assembly import build_assistant
from bot.handoff.announcements import announcements
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import Embedder
from tests.adapters.web import test_web_browser as base
from tests.adapters.web.conftest import PASSWORD
from tests.adapters.web.live import LiveServer, start_live_server
from tests.adapters.web.test_web_coverage import RETENTION

browser = base.browser
sign_in = base.sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1100, "height": 900}, "phone": {"width": 390, "height": 844}}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
NEWS = "C0POLICYNEWS"


@pytest.fixture
def live(engine: Engine, embedder: Embedder, tmp_path: Path) -> Iterator[LiveServer]:
    """A console of its own per test (each announces its own change), with a Slack channel
    for announcements configured."""
    sources = tmp_path / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    shutil.copytree(engine.settings.resolved_index_dir, tmp_path / "data" / "index")
    settings = Settings(
        data_dir=tmp_path / "data",
        sources=[sources],
        slack_announce_channel=NEWS,
        _env_file=None,
    )
    own = build_engine(settings, embedder=embedder)
    assert own.ingest().changes == [], "the bundled policy recorded as it is"
    context = ServerContext(settings=settings, engine=own, assistant=build_assistant(own))

    def setup(app, ctx):
        console_adapter.setup(app, ctx, settings=WebSettings(_env_file=None))

    server = start_live_server(create_app(context, [setup]), context)
    context.extras["web_console"].accounts.add_user("ada", Role.ADMIN, PASSWORD)
    server.sources = sources
    server.store = context.assistant.store
    yield server
    server.stop()


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, browser, live) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport=VIEWPORTS[request.param])
    context.set_default_timeout(60_000)
    opened = context.new_page()
    opened.size = request.param
    yield opened
    context.close()


def fits(page) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("document.documentElement.scrollWidth")


def test_the_coverage_line_and_announce_button_after_a_re_ingest(page, live) -> None:
    policy = live.sources / "example-genai-policy.md"
    text = policy.read_text(encoding="utf-8")
    start = text.index(RETENTION)
    policy.write_text(text[:start] + text[text.index("### 5.4 ", start) :], encoding="utf-8")
    sign_in(page, "ada")
    page.goto("/console/admin")
    page.get_by_role("button", name="Re-ingest the source folders").click()
    page.locator(".job-state", has_text="Finished").wait_for(timeout=120_000)

    page.goto("/console/admin")
    coverage = page.locator("section[aria-labelledby='coverage-h']").inner_text()
    assert "Coverage changed with this ingest:" in coverage
    assert re.search(r"privacy\.retention: covered → \w+", coverage), coverage
    button = page.get_by_role("button", name=f"Announce 1 change to Slack {NEWS}")
    assert button.is_visible()
    fits(page)
    # The documents table stays readable: on a phone each row stacks, so a title cell gets
    # the page's width instead of a few letters per line.
    if page.size == "phone":
        cell = page.locator("section[aria-labelledby='docs-h'] tbody td").first.bounding_box()
        assert cell is not None and cell["width"] >= 0.6 * VIEWPORTS["phone"]["width"], cell
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"admin-announce-{page.size}.png"), full_page=True)

    button.click()
    assert "Announcement of 1 changed section(s) sent to Slack" in page.locator("main").inner_text()
    fits(page)
    page.goto("/console/admin")
    announce = page.locator("section:has(#announce-h)").inner_text()
    assert "Every recorded change has been announced." in announce and "by ada" in announce
    fits(page)
    [made] = announcements(live.store)
    assert made.change_count == 1 and made.channels == {"slack": NEWS}
