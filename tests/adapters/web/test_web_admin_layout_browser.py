"""The admin page's two ways to update the policies, in a real browser at phone and desktop
width: on a 390 px phone both buttons span the column, as one-handed taps need; on a desktop
the re-ingest button keeps its own width beside the upload form; on a desktop the documents
table's short words stay whole.

Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.web import test_web_browser as base

live, browser = base.live, base.browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, browser, live) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport=VIEWPORTS[request.param])
    context.set_default_timeout(30_000)
    opened = context.new_page()
    opened.size = request.param
    yield opened
    context.close()


def test_the_update_buttons_span_the_column_on_a_phone(page) -> None:
    base.sign_in(page, "ada")
    page.goto("/console/admin")
    upload = page.get_by_role("button", name="Upload and preview").bounding_box()
    reingest = page.get_by_role("button", name="Re-ingest the source folders").bounding_box()
    column = page.locator("section[aria-labelledby='ingest-h']").bounding_box()
    base.shot(page, f"admin-update-{page.size}")
    gap = reingest["y"] - (upload["y"] + upload["height"])
    assert gap >= 8, "below the upload button, not touching it: a tap meant for one hits one"
    if page.size == "phone":
        for button in (upload, reingest):
            assert abs(button["x"] - column["x"]) <= 1
            assert abs(button["width"] - column["width"]) <= 1
    else:
        assert reingest["width"] < upload["width"], "a desktop button keeps its own width"


LINES_OF_TEXT = """(selector) => [...document.querySelectorAll(selector)].map((cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  return [cell.textContent.trim(), range.getClientRects().length];
})"""


def test_the_documents_table_keeps_its_words_whole_on_a_desktop(browser, live) -> None:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        base.sign_in(page, "ada")
        page.goto("/console/admin")
        cells = page.evaluate(
            LINES_OF_TEXT,
            "table.documents thead th, table.documents td[data-label='Kind'], "
            "table.documents td[data-label='Version'], table.documents td[data-label='Chunks']",
        )
    finally:
        context.close()
    assert len(cells) >= 6 + 3
    # Each of these is one short word: on two lines it was cut in two ("Versio" / "n").
    assert [text for text, lines in cells if lines != 1] == []
