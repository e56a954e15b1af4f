"""A walk through every console page in a browser, for the axe checks and
the screenshots (tools/console-screenshots). Each step leaves the browser on
one page and yields that page's name; fields are found by id, so the tour
works in every language."""

from __future__ import annotations

from collections.abc import Iterator

from tests.console.conftest import PASSWORD


def _signin(page, user: str, password: str = PASSWORD) -> None:
    page.fill("#field-user", user)
    page.fill("#field-password", password)
    page.click("form[action='/signin'] button[type=submit]")


def _signout(page) -> None:
    page.click("form[action='/signout'] button[type=submit]")
    page.wait_for_url("**/signin?out=1")


def tour(page, language: str) -> Iterator[str]:
    page.goto(f"/language?lang={language}&next=/signin")
    yield "signin"
    _signin(page, "clara", "not the password")
    page.wait_for_selector(".problem")
    yield "signin-refused"
    _signin(page, "clara")
    page.wait_for_url(lambda url: "/signin" not in url)
    yield "start"
    page.goto("/orders/new")
    yield "order-new"
    page.click("form[action='/orders/new'] button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "order-new-errors"
    page.select_option("#field-kind", "passport")
    page.select_option("#field-size", "M")
    page.fill("#field-reference", f"BB-TOUR-{language}")
    page.fill("#field-contact", "anna@example.org")
    page.select_option("#field-language", language)
    page.fill("#field-recipient", "Anna Muster\nHauptstraße 1\n12345 Musterstadt")
    page.click("form[action='/orders/new'] button[type=submit]")
    page.wait_for_selector("#pickup-code")
    yield "order-issued"
    page.goto("/orders")
    yield "orders-find"
    page.goto(f"/orders/BB-TOUR-{language}")
    yield "order"
    page.click(f"form[action='/orders/BB-TOUR-{language}/cancel'] button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "order-action-errors"
    page.goto("/staff")
    yield "refused"
    _signout(page)
    yield "signed-out"
    _signin(page, "sven")
    page.wait_for_url(lambda url: "/signin" not in url)
    page.goto("/staff")
    yield "staff"
    page.goto("/fleet")
    yield "fleet"
    page.goto("/alarms")
    yield "alarms"
    page.goto("/reports")
    yield "reports"
    _signout(page)
    _signin(page, "adam")
    page.wait_for_url(lambda url: "/signin" not in url)
    page.goto("/users")
    yield "users"
    page.click("form[action='/users/add'] button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "users-errors"
    page.fill("#field-name", f"tour-{language}")
    page.check("#field-roles-clerk")
    page.click("form[action='/users/add'] button[type=submit]")
    page.wait_for_selector("#initial-password")
    initial = page.locator("#initial-password").inner_text()
    yield "user-password"
    page.goto(f"/users/tour-{language}")
    yield "user"
    page.goto("/password")
    yield "password"
    _signout(page)
    # The new user with the initial password: only the page to choose their own.
    _signin(page, f"tour-{language}", initial)
    page.wait_for_url(lambda url: "/password?next=" in url)
    yield "password-required"
    page.fill("#field-current_password", initial)
    page.fill("#field-new_password", "short")
    page.fill("#field-new_password_again", "different")
    page.click("form[action='/password'] button[type=submit]")
    page.wait_for_selector(".error-summary")
    yield "password-errors"
    page.fill("#field-current_password", initial)
    page.fill("#field-new_password", f"my own tour password {language}")
    page.fill("#field-new_password_again", f"my own tour password {language}")
    page.click("form[action='/password'] button[type=submit]")
    page.wait_for_url(lambda url: "/password?done=1" in url)
    yield "password-changed"
