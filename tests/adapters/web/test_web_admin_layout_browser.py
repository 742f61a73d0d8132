"""The admin page's two ways to update the policies, in a real browser at phone and desktop
width: on a 390 px phone both buttons span the column, as one-handed taps need; on a desktop
the re-ingest button keeps its own width beside the upload form.

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
