"""Staff accounts in a real browser: an admin adds, promotes, disables, re-enables and
resets an account while that person is signed in elsewhere."""

from __future__ import annotations

import pytest

from tests.adapters.web import test_web_browser as base

# The console server, browser and page fixtures of the console's browser tests.
live, browser, page = base.live, base.browser, base.page
sign_in, shot = base.sign_in, base.shot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not base.CHROMIUM.exists(), reason="needs Debian's chromium"),
]
LEE_PASSWORD = "lee-first-password"
LEE_NEW_PASSWORD = "lee-second-password"


def sign_in_as(page, name: str, password: str) -> None:
    page.goto("/console/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def row(page, name: str):
    return page.locator(f"tr[data-account='{name}']")


def test_an_admin_manages_a_colleagues_account_and_disabling_signs_them_out(browser, live):
    admin_context = browser.new_context(base_url=live.url, viewport={"width": 1300, "height": 900})
    admin = admin_context.new_page()
    sign_in(admin, "ada")
    admin.get_by_role("link", name="Staff accounts").click()
    admin.get_by_label("Name", exact=True).fill("lee")
    admin.get_by_label("Role", exact=True).select_option("support")
    admin.get_by_label("Password (at least 10 characters)").fill(LEE_PASSWORD)
    admin.get_by_label("Password again").fill(LEE_PASSWORD)
    admin.get_by_role("button", name="Add account").click()
    assert admin.get_by_role("status").inner_text() == "Account lee added."
    assert row(admin, "lee").locator("td").first.inner_text() == "support"

    lee_context = browser.new_context(base_url=live.url)
    lee = lee_context.new_page()
    sign_in_as(lee, "lee", LEE_PASSWORD)
    assert lee.get_by_role("link", name="Support queue").is_visible()
    assert lee.get_by_role("link", name="Admin").count() == 0

    admin.get_by_label("Role of lee", exact=True).select_option("admin")
    admin.get_by_role("button", name="Change role of lee").click()
    assert "Role of lee changed to admin." in admin.get_by_role("status").inner_text()
    lee.reload()
    assert lee.get_by_role("link", name="Admin").is_visible()

    admin.get_by_role("button", name="Disable lee").click()
    assert row(admin, "lee").locator("td.status").inner_text() == "disabled"
    shot(admin, "staff-accounts")
    lee.goto("/console/support")
    assert lee.url.endswith("/console/signin?next=/console/support")
    sign_in_as(lee, "lee", LEE_PASSWORD)
    assert lee.get_by_role("alert").inner_text() == "Wrong name or password."

    admin.get_by_role("button", name="Enable lee").click()
    admin.get_by_label("New password for lee", exact=True).fill(LEE_NEW_PASSWORD)
    admin.get_by_role("button", name="Reset password of lee").click()
    assert "Password of lee reset" in admin.get_by_role("status").inner_text()
    sign_in_as(lee, "lee", LEE_PASSWORD)
    assert lee.get_by_role("alert").inner_text() == "Wrong name or password."
    sign_in_as(lee, "lee", LEE_NEW_PASSWORD)
    assert lee.url.endswith("/console/admin")

    changes = admin.locator("table.audit tbody tr").all_inner_texts()
    lee_changes = [line.split("\t", 2)[2] for line in changes if "\tlee\t" in line]
    assert lee_changes == [
        "lee\tpassword reset",
        "lee\tenabled",
        "lee\tdisabled (sessions ended)",
        "lee\trole changed (support → admin)",
        "lee\tadded (role support)",
    ]
    assert all(line.split("\t")[1] == "ada" for line in changes if "\tlee\t" in line)
    lee_context.close()
    admin_context.close()


def test_an_admin_cannot_disable_themselves(page):
    sign_in(page, "ada")
    page.goto("/console/admin/staff")
    page.get_by_role("button", name="Disable ada").click()
    assert "cannot disable your own account" in page.get_by_role("alert").inner_text()
    assert row(page, "ada").locator("td.status").inner_text() == "enabled"


def test_a_staff_form_with_a_forged_token_is_refused(page):
    sign_in(page, "ada")
    page.goto("/console/admin/staff")
    form = "document.querySelector('tr[data-account=sam] form[action$=disable]')"
    page.evaluate(f"{form}.querySelector('input[name=csrf_token]').value = 'f'.repeat(64)")
    with page.expect_navigation() as navigation:
        page.evaluate(f"HTMLFormElement.prototype.submit.call({form})")
    assert navigation.value.status == 403
    page.goto("/console/admin/staff")
    assert row(page, "sam").locator("td.status").inner_text() == "enabled"


def test_support_staff_cannot_open_the_staff_page(page):
    sign_in(page, "sam")
    response = page.goto("/console/admin/staff")
    assert response.status == 403
    assert page.get_by_role("link", name="Staff accounts").count() == 0
