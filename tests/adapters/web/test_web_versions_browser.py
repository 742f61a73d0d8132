"""Policy versions in a real browser, at desktop width and on a 390 px phone: an upload is
previewed before it is published, a second version of it is published the same way, and the
document page shows both versions and the word diff of the changed section."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.web import test_web_browser as base

live, browser = base.live, base.browser
sign_in = base.sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1100, "height": 900}, "phone": {"width": 390, "height": 844}}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"

VERSION_1 = """---
title: Travel and AI tools
version: "1.0"
effective: 2026-01-05
---
# Travel and AI tools

## Approved tools abroad

Staff travelling outside Hong Kong may use Microsoft 365 Copilot on company laptops only.

## Public Wi-Fi

Do not use any AI tool on public Wi-Fi without the company VPN.
"""
VERSION_2 = VERSION_1.replace('version: "1.0"', 'version: "1.1"').replace(
    "on company laptops only.", "on company laptops and company phones."
)


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, browser, live) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(base_url=live.url, viewport=VIEWPORTS[request.param])
    context.set_default_timeout(60_000)
    opened = context.new_page()
    opened.size = request.param
    yield opened
    context.close()


def upload_and_publish(page, path: Path, text: str) -> object:
    path.write_text(text, encoding="utf-8")
    page.goto("/console/admin")
    page.get_by_label(re.compile("Upload a new or updated policy file")).set_input_files(path)
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r".*/preview$"))
    preview = page.locator("main").inner_text()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("document.documentElement.scrollWidth")
    return preview


def publish(page) -> None:
    page.get_by_role("button", name="Publish and ingest").click()
    page.wait_for_url(re.compile(r".*/console/admin/ingest/\d+$"))
    page.locator(".job-state", has_text="Finished").wait_for(timeout=120_000)


def test_an_upload_is_previewed_then_published_and_its_history_shows_the_diff(
    page, tmp_path: Path
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = f"travel-ai-{page.size}.md"
    sign_in(page, "ada")

    preview = upload_and_publish(page, tmp_path / name, VERSION_1)
    assert "Travel and AI tools" in preview and "1.0" in preview and "2026-01-05" in preview
    assert "Approved tools abroad" in preview and "Public Wi-Fi" in preview
    assert "No kind" in preview, "the missing kind is pointed out"
    page.screenshot(path=str(SCREENSHOTS / f"upload-preview-{page.size}.png"), full_page=True)
    publish(page)

    upload_and_publish(page, tmp_path / name, VERSION_2)
    publish(page)

    page.goto(f"/console/admin/documents/{name}")
    history = page.locator("main").inner_text()
    rows = page.locator("section[aria-labelledby='versions-h'] tbody tr")
    assert rows.count() == 2
    assert "1.1" in rows.nth(0).inner_text() and "1.0" in rows.nth(1).inner_text()
    assert "Version 1.1" in history and "changed Approved tools abroad" in history
    assert "[-only.-] {+and company phones.+}" in history
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SCREENSHOTS / f"document-history-{page.size}.png"), full_page=True)
