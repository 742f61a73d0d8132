"""The console as people use it, in Chromium: the incident conversation with its visible
state and review, the history kept across a reload, the feedback row, the idempotent
incident form, and every page usable on a 390 px phone.

Screenshots (desktop and phone) go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.adapters.web.test_web_browser import (  # noqa: F401  (fixtures)
    ask,
    browser,
    live,
    shot,
    sign_in,
    sync_api,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(params=["desktop", "phone"])
def page(request, browser, live) -> Iterator[object]:  # noqa: F811
    viewport = PHONE if request.param == "phone" else DESKTOP
    context = browser.new_context(base_url=live.url, viewport=viewport)
    context.set_default_timeout(30_000)
    opened = context.new_page()
    opened.size = request.param
    yield opened
    context.close()


def say(page, text: str) -> object:
    """Type into the chat box of the page as it is (no reload) and wait for the reply."""
    before = page.locator("article.turn").count()
    page.get_by_label("Your question").fill(text)
    page.get_by_role("button", name="Ask", exact=True).click()
    turn = page.locator("article.turn").nth(before)
    turn.wait_for()
    return turn


def last_turn_says(page, text: str) -> object:
    """Wait until the newest turn contains ``text`` (step buttons answer asynchronously)."""
    page.wait_for_function(
        "text => document.querySelector('#conversation').lastElementChild.innerText.includes(text)",
        arg=text,
    )
    return page.locator("article.turn").last


def fits(page) -> bool:
    return bool(page.evaluate(NO_SIDEWAYS_SCROLL))


def test_the_incident_conversation_shows_its_state_listens_and_reviews(page):
    turn = ask(page, "I pasted our client list into DeepSeek by mistake")
    assert turn.locator(".progress").inner_text() == "Reporting an AI incident · step 3 of 7"
    assert turn.get_by_role("button", name="Cancel").is_visible()
    assert fits(page)
    shot(page, f"incident-state-{page.size}")

    aside = say(page, "Can I use ChatGPT to draft work emails?")
    assert aside.locator(".ai-label").count() == 1
    assert "Back to your incident report:" in aside.inner_text()
    assert aside.locator(".progress").inner_text() == "Reporting an AI incident · step 3 of 7"
    # The earlier turn's Cancel went: only the latest step can be clicked.
    assert turn.get_by_role("button", name="Cancel").count() == 0

    for answer in ("About 200 client names and emails", "This morning", "Just now", "No", "Here"):
        review = say(page, answer)
    assert review.locator(".progress").inner_text().endswith("review before sending")
    assert "3. Personal data or confidential information involved" in review.inner_text()
    assert "draft work emails" not in review.inner_text()
    assert fits(page)
    shot(page, f"incident-review-{page.size}")

    review.get_by_role("button", name="Edit an answer").click()
    last_turn_says(page, "Which answer would you like to change?")
    say(page, "edit 4")
    review = say(page, "Yesterday at 5pm")
    assert "4. When it happened: Yesterday at 5pm" in review.inner_text()
    review.get_by_role("button", name="Send the report").click()
    done = last_turn_says(page, "Your report is INC-")
    assert re.search(r"Your report is INC-\d{4}-\d{4}", done.inner_text())

    # The conversation is kept for the session: a reload shows it again.
    page.reload()
    assert page.locator("article.turn").count() >= 10
    assert "Your report is INC-" in page.locator("article.turn").last.inner_text()
    assert "INC-" in page.locator("table.mine").inner_text()


def test_a_report_left_unfinished_is_offered_back_after_a_reload(page):
    ask(page, "report an AI incident")
    say(page, "I uploaded a contract to Claude")
    page.reload()
    offer = page.locator("article.turn").last
    assert re.search(
        r"You have an unfinished incident report from \d\d:\d\d: continue or discard\?",
        offer.inner_text(),
    )
    assert fits(page)
    offer.get_by_role("button", name="Discard it").click()
    last_turn_says(page, "Cancelled")
    page.reload()
    assert "continue or discard" not in page.locator("#conversation").inner_text()


def test_hi_is_greeted_with_starter_questions_and_not_helpful_keeps_ask_a_person(page):
    page.goto("/console/")
    starter = page.locator("ul.starters button").first
    assert starter.inner_text() == "Can I use ChatGPT for work?"
    hello = say(page, "hi")
    assert "couldn't find" not in hello.inner_text() and hello.locator("ul.starters").count()
    hello.locator("ul.starters button").first.click()
    answer = last_turn_says(page, "AI-generated answer")
    assert answer.locator(".ai-label").count() == 1
    assert fits(page)
    shot(page, f"chat-answer-{page.size}")
    answer.get_by_role("button", name="Not helpful").click()
    status = answer.locator("[role=status].done")
    status.wait_for()
    assert "choose Ask a person" not in status.inner_text()
    assert answer.get_by_role("button", name="Ask a person").is_visible()
    assert fits(page)


def test_the_incident_form_sent_twice_files_one_report(page):
    page.goto("/console/incident")
    page.get_by_label("What happened").fill("I pasted a payroll sheet into Gemini by mistake")
    assert fits(page)
    page.get_by_role("button", name=re.compile("Send")).click()
    page.wait_for_load_state()
    first = re.search(r"INC-\d{4}-\d{4}", page.content()).group(0)
    page.go_back()
    page.wait_for_load_state()
    if not page.get_by_label("What happened").input_value():  # a fresh form after Back
        page.get_by_label("What happened").fill("I pasted a payroll sheet into Gemini by mistake")
    page.get_by_role("button", name=re.compile("Send")).click()
    page.wait_for_load_state()
    assert re.search(r"INC-\d{4}-\d{4}", page.content()).group(0) == first


def test_the_queue_and_a_ticket_fit_a_phone(page):
    page.goto("/console/incident")
    page.get_by_label("What happened").fill("I pasted customer phone numbers into ChatGPT")
    page.get_by_role("button", name=re.compile("Send")).click()
    page.wait_for_load_state()
    sign_in(page, "sam")
    page.goto("/console/support")
    assert fits(page), page.evaluate("document.documentElement.scrollWidth")
    shot(page, f"queue-{page.size}")
    page.locator("table.queue a").first.click()
    page.wait_for_load_state()
    assert fits(page), page.evaluate("document.documentElement.scrollWidth")
    shot(page, f"ticket-{page.size}")


def test_a_support_reply_reaches_the_visitor_under_your_requests(page, browser, live):  # noqa: F811
    page.goto("/console/incident")
    page.get_by_label("What happened").fill("I uploaded a staff rota with phone numbers to Kimi")
    page.get_by_role("button", name=re.compile("Send")).click()
    page.wait_for_load_state()
    reference = re.search(r"INC-\d{4}-\d{4}", page.content()).group(0)

    staff = browser.new_context(base_url=live.url, viewport=page.viewport_size)
    desk = staff.new_page()
    sign_in(desk, "sam")
    desk.goto(f"/console/support/{reference}")
    desk.get_by_label("Reply to the reporter").fill("Thanks. Please remove the file from Kimi.")
    desk.get_by_role("button", name="Send reply").click()
    desk.wait_for_load_state()
    assert desk.get_by_role("status").inner_text() == "Reply sent to the reporter."
    assert fits(desk)
    shot(desk, f"support-reply-staff-{page.size}")
    staff.close()

    page.goto("/console/")
    mine = page.locator("table.mine")
    assert "Reply from sam" in mine.inner_text()
    assert "Please remove the file from Kimi." in mine.inner_text()
    assert fits(page)
    mine.scroll_into_view_if_needed()
    shot(page, f"support-reply-visitor-{page.size}")


def test_a_question_without_its_question_mark_mid_report_is_answered(page):
    ask(page, "I pasted our client list into DeepSeek by mistake")
    aside = say(page, "is copilot ok for writing code")
    assert "Back to your incident report: Was personal data" in aside.inner_text()
    assert aside.locator(".progress").inner_text() == "Reporting an AI incident · step 3 of 7"
    nxt = say(page, "About 200 client names")
    assert nxt.locator(".progress").inner_text() == "Reporting an AI incident · step 4 of 7"
    assert fits(page)
    shot(page, f"incident-unpunctuated-question-{page.size}")


def test_a_question_in_chinese_gets_buttons_in_chinese(page):
    answer = ask(page, "公司核准使用的人工智能工具有哪些？")
    assert answer.locator(".ai-label").inner_text() == "人工智能生成的回答"
    for label in ("有幫助", "沒有幫助", "轉交支援人員"):
        assert answer.get_by_role("button", name=label, exact=True).is_visible(), label
    assert answer.get_by_role("link", name="報告人工智能事故").is_visible()
    assert answer.get_by_text("這個回答有幫助嗎？").is_visible()
    assert fits(page)
    shot(page, f"chat-chinese-answer-{page.size}")

    refused = say(page, "今晚睇咩戲好？")
    assert "我在公司的生成式人工智能政策" in refused.inner_text()
    assert refused.get_by_role("button", name="轉交支援人員").is_visible()
    # An English question after it is labelled in English again.
    english = say(page, "Can I use ChatGPT for work?")
    assert english.get_by_role("button", name="Ask a person").is_visible()
    assert fits(page)
    shot(page, f"chat-chinese-not-found-{page.size}")
