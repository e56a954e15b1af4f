"""Users and roles in a real headless Chromium: an admin adds a clerk, the
clerk signs in with the one-time password shown once, and a clerk is refused
the users page (the axe checks of the page are in the tour, tests/console/tour.py)."""

from __future__ import annotations

import pytest

from tests.console.conftest import browser_signin

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_an_admin_adds_a_clerk_who_signs_in_and_sees_no_users_page(browser_page, console):
    page = browser_page
    browser_signin(page, "adam")
    page.get_by_role("link", name="Benutzer und Rollen").first.click()
    page.get_by_label("Benutzername").fill("carla")
    page.get_by_label("Sachbearbeitung").check()
    page.get_by_role("button", name="Benutzer anlegen").click()
    page.wait_for_selector("#initial-password")
    password = page.locator("#initial-password").inner_text()
    assert "Der Benutzer carla wurde angelegt." in page.locator(".notice").inner_text()
    page.reload()  # shown once only
    assert page.locator("#initial-password").count() == 0
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url("**/signin?out=1")

    browser_signin(page, "carla", password)
    assert page.get_by_text("Angemeldet als carla").is_visible()
    assert page.get_by_role("link", name="Benutzer und Rollen").count() == 0
    response = page.goto("/users")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Nicht erlaubt"
    assert [r["actor"] for r in console.audit("user.created")] == ["user:adam"]
    assert [r["actor"] for r in console.audit("call.denied")] == ["user:carla"]
