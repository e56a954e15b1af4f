"""Users and roles in a real headless Chromium: an admin adds a clerk, the
clerk signs in with the one-time password shown once, is made to choose her
own password first, then works, and is refused the users page (the axe checks of the page are in the tour, tests/console/tour.py)."""

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

    # The initial password opens only the page to choose her own; other pages lead back.
    page.goto("/signin")
    page.get_by_label("Benutzername").fill("carla")
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(lambda url: "/password?next=" in url)
    assert page.locator("h1").inner_text() == "Eigenes Passwort wählen"
    assert page.locator(".main-nav").count() == 0
    page.goto("/orders")
    page.wait_for_url(lambda url: "/password?next=" in url)
    page.get_by_label("Bisheriges Passwort").fill(password)
    page.get_by_label("Neues Passwort", exact=True).fill("carla chose this herself")
    page.get_by_label("Neues Passwort wiederholen").fill("carla chose this herself")
    page.get_by_role("button", name="Mein Passwort speichern").click()
    page.wait_for_url(lambda url: "/password?done=1" in url)
    assert "Ihr Passwort wurde geändert" in page.locator(".notice").inner_text()
    page.get_by_role("link", name="Weiter").click()
    page.wait_for_url(lambda url: url.endswith("/orders"))
    assert page.locator("h1").count() == 1 and page.locator(".main-nav").count() == 1
    assert page.get_by_text("Angemeldet als carla").is_visible()
    assert page.get_by_role("link", name="Benutzer und Rollen").count() == 0
    response = page.goto("/users")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Nicht erlaubt"
    assert [r["actor"] for r in console.audit("user.created")] == ["user:adam"]
    assert [r["actor"] for r in console.audit("user.password_changed")] == ["user:carla"]
    assert [r["actor"] for r in console.audit("call.denied")] == ["user:carla"]
