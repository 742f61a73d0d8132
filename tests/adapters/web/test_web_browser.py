"""The console in a real browser: Debian's Chromium driven by Playwright, headless.

Screenshots of each page go to ``test-artifacts/console/``.
"""

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
from bot.settings import BUNDLED_SOURCES, Settings
from knowledge.embedding import Embedder
from tests.adapters.web.conftest import PASSWORD
from tests.adapters.web.live import LiveServer, start_live_server
from tests.adapters.web.test_web_admin import QUESTION, edited_policy

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")


@pytest.fixture(scope="module")
def live(
    engine: Engine, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("live-console")
    sources = root / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    shutil.copytree(engine.settings.resolved_index_dir, root / "data" / "index")
    settings = Settings(data_dir=root / "data", sources=[sources], _env_file=None)
    own = build_engine(settings, embedder=embedder)
    context = ServerContext(settings=settings, engine=own, assistant=build_assistant(own))

    def setup(app, ctx):
        # One live console serves every browser test from one address: anonymous limits
        # high enough that the tests' own questions and reports are never refused.
        generous = {
            "anonymous_questions_per_minute": 10_000,
            "anonymous_tickets_per_hour": 10_000,
            "anonymous_tickets_per_hour_total": 10_000,
        }
        console_adapter.setup(app, ctx, settings=WebSettings(_env_file=None, **generous))

    server = start_live_server(create_app(context, [setup]), context)
    accounts = context.extras["web_console"].accounts
    accounts.add_user("sam", Role.SUPPORT, PASSWORD)
    accounts.add_user("ada", Role.ADMIN, PASSWORD)
    server.sources = sources
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live) -> Iterator[object]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, name: str) -> None:
    page.goto("/console/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def ask(page, question: str) -> object:
    page.goto("/console/")
    before = page.locator("article.turn").count()
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    turn = page.locator("article.turn").nth(before)
    turn.wait_for()
    return turn


def test_ask_a_question_and_open_a_citation(page):
    turn = ask(page, "Can I paste a customer's HKID number into ChatGPT?")
    assert turn.locator(".ai-label").inner_text() == "AI-generated answer"
    passage = turn.locator("details blockquote").first
    assert not passage.is_visible()
    turn.locator("a.marker").first.click()
    assert passage.is_visible()
    assert "HKID" in passage.inner_text()
    shot(page, "chat")


def test_an_unanswerable_question_offers_a_person(page):
    turn = ask(page, "What is on the canteen menu on Friday?")
    assert turn.get_attribute("data-status") == "not_found"
    assert turn.locator(".ai-label").count() == 0
    assert "won't guess" in turn.inner_text()


def test_the_chat_works_without_javascript(browser, live):
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/console/")
    page.get_by_label("Your question").fill("Can I use ChatGPT to draft work emails?")
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_url("**/console/ask")
    assert page.locator("article.turn details").count() >= 1
    context.close()


def test_a_form_posted_without_its_csrf_token_is_refused(page):
    page.goto("/console/")
    page.evaluate("document.querySelector('form.ask input[name=csrf_token]').remove()")
    page.evaluate("document.querySelector('form.ask').removeAttribute('data-enhance')")
    page.get_by_label("Your question").fill("hello")
    # The script's handler was bound on load; submit the form natively.
    with page.expect_navigation() as navigation:
        page.evaluate("HTMLFormElement.prototype.submit.call(document.querySelector('form.ask'))")
    assert navigation.value.status == 403
    assert "did not come from this site" in page.content()


def test_a_support_user_cannot_open_admin_pages(page):
    sign_in(page, "sam")
    response = page.goto("/console/admin")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert page.get_by_role("link", name="Admin").count() == 0
    shot(page, "forbidden")


def test_an_admin_uploads_an_edited_policy_and_the_answer_changes(page, live, tmp_path):
    before = ask(page, QUESTION)
    assert "2.4 Otter.ai" not in before.inner_text()

    page.goto("/console/signin")
    shot(page, "signin")
    sign_in(page, "ada")
    assert page.url.endswith("/console/admin")
    shot(page, "admin")
    edited = tmp_path / "example-genai-policy.md"
    edited.write_bytes(edited_policy(live.sources))
    page.get_by_label(re.compile("Upload a new or updated policy file")).set_input_files(edited)
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r".*/console/admin/documents/example-genai-policy.md/preview$"))
    page.get_by_role("button", name="Publish and ingest").click()
    page.wait_for_url(re.compile(r".*/console/admin/ingest/\d+$"))
    page.locator(".job-state", has_text="Finished").wait_for(timeout=60_000)
    assert int(page.locator('td[data-key="added"]').inner_text()) == 1
    shot(page, "ingest")

    after = ask(page, QUESTION)
    assert "2.4 Otter.ai for meeting transcripts" in after.inner_text()
    page.goto("/console/admin")
    row = page.locator("tr", has_text="Harbourview")
    assert "\t2.2\t" in row.inner_text()


def test_feedback_and_ask_a_person_from_an_answer(page):
    turn = ask(page, "Can I use ChatGPT to draft work emails?")
    turn.get_by_placeholder("What was wrong? (optional)").fill("it did not mention Copilot")
    turn.get_by_role("button", name="Not helpful").click()
    assert re.search(r"FB-\d{4}-\d{4}", turn.locator(".done").inner_text())
    other = ask(page, "What is on the canteen menu on Friday?")
    other.get_by_role("button", name="Ask a person").click()
    assert re.search(r"ESC-\d{4}-\d{4}", other.locator(".done").inner_text())


def test_report_an_incident_then_support_claims_and_resolves_it(browser, live):
    employee = browser.new_context(base_url=live.url)
    page = employee.new_page()
    turn = ask(page, "Can I paste a customer's HKID number into ChatGPT?")
    turn.get_by_role("link", name="Report an AI incident").click()
    page.get_by_label("What happened (required)").fill(
        "I pasted a customer list with phone numbers into ChatGPT"
    )
    page.get_by_label("AI tool and account").fill("ChatGPT (personal account)")
    page.get_by_label("Contained?").fill("not sure")
    shot(page, "incident-form")
    page.get_by_role("button", name="Send the report").click()
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"INC-\d{4}-\d{4}", reference)
    assert page.locator("details").count() >= 1  # the policy's cited guidance
    shot(page, "incident-reported")

    staff = browser.new_context(base_url=live.url, viewport={"width": 1100, "height": 900})
    desk = staff.new_page()
    sign_in(desk, "sam")
    assert desk.url.endswith("/console/support")
    row = desk.locator(f'tr[data-reference="{reference}"]')
    assert row.locator(".state").inner_text() == "open"
    shot(desk, "support-queue")
    row.get_by_role("link", name=reference).click()
    desk.get_by_role("button", name="Claim").click()
    assert "Ticket claimed" in desk.content()
    desk.get_by_label("Resolution note (sent to the reporter)").fill(
        "Deleted the conversation with the vendor; no further action."
    )
    desk.get_by_role("button", name="Resolve").click()
    assert desk.locator("h1 .state").inner_text() == "resolved"
    trail = desk.locator("table.audit").inner_text()
    assert "claimed" in trail and "resolved" in trail and "sam" in trail
    shot(desk, "ticket")

    page.goto("/console/")
    mine = page.locator("table.mine")
    assert reference in mine.inner_text() and "resolved" in mine.inner_text()
    employee.close()
    staff.close()
