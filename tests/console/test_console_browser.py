"""The console in a real headless Chromium: sign-in by keyboard and mouse,
and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import pytest

from tests.console.conftest import axe_violations, browser_signin

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_sign_in_and_out_in_the_browser(browser_page, console):
    page = browser_page
    page.goto("/")
    assert "/signin" in page.url
    assert page.locator("h1").inner_text() == "Anmelden"
    browser_signin(page, "clara")
    assert page.get_by_text("Angemeldet als clara").is_visible()
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url("**/signin?out=1")
    assert page.get_by_text("Sie sind abgemeldet.").is_visible()


def test_the_skip_link_is_the_first_stop_and_visible_on_focus(browser_page, console):
    page = browser_page
    browser_signin(page, "clara")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "Zum Inhalt springen"
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["y"] >= 0  # on screen once focused


@pytest.mark.parametrize("language", ["de", "en"])
def test_sign_in_and_start_pages_pass_axe(browser_page, console, language):
    page = browser_page
    page.goto(f"/language?lang={language}&next=/signin")
    assert axe_violations(page) == []
    browser_signin(page, "sven") if language == "de" else None
    if language == "en":
        page.get_by_label("User name").fill("sven")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/signin" not in url)
    assert axe_violations(page) == []
