"""The fleet dashboard, alarms and remote commands in a real headless Chromium:
the dashboard changes without a reload when the kiosk reports, an alarm is
acknowledged, a supervisor's remote opening shows its result, and axe-core
finds no serious violation on the filled pages."""

from __future__ import annotations

import pytest

from tests.console.conftest import axe_violations, browser_signin
from tests.console.test_console_fleet import _alarm, _deposit, _register

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_the_dashboard_updates_live_when_a_document_is_deposited(browser_page, console):
    _register(console)
    page = browser_page
    browser_signin(page, "sven")
    page.goto("/fleet")
    assert "BB-LIVE-B" not in page.locator("#fleet").inner_html()
    _deposit(console, "BB-LIVE-B")
    # No reload: the server-sent event replaces the kiosk list.
    page.wait_for_function(
        "() => document.querySelector('#fleet').innerHTML.includes('BB-LIVE-B')", timeout=10_000)
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    assert axe_violations(page) == []


def test_an_alarm_is_seen_everywhere_and_acknowledged(browser_page, console):
    _register(console)
    _alarm(console)
    page = browser_page
    browser_signin(page, "sven")
    page.get_by_role("link", name="Offene Alarme: 1").click()
    assert page.locator("h1").inner_text() == "Alarme"
    assert axe_violations(page) == []
    page.get_by_label("Kommentar").fill("Tür geprüft und geschlossen")
    page.get_by_role("button", name="Alarm bestätigen").click()
    page.wait_for_selector("text=Der Alarm wurde bestätigt.")
    assert page.get_by_role("link", name="Offene Alarme: 1").count() == 0
    assert page.get_by_role("cell", name="Tür geprüft und geschlossen").is_visible()


def test_a_supervisor_opens_remotely_and_a_clerk_is_refused(browser_page, chromium, console):
    _register(console)
    page = browser_page
    browser_signin(page, "sven")
    page.goto("/fleet")
    page.get_by_role("link", name="kiosk-1").first.click()
    assert axe_violations(page) == []  # the kiosk's page with its compartment table
    page.get_by_role("link", name="Fernbefehle für kiosk-1").click()
    assert axe_violations(page) == []
    page.get_by_label("Was soll die Station tun?").select_option("open")
    page.get_by_label("Fachnummer").fill("2")
    page.get_by_label("Grund").fill("Dokument nachlegen")
    page.get_by_role("button", name="Befehl senden").click()
    page.wait_for_selector("#command-results")
    assert "wartet auf die Station" in page.locator("#command-results").inner_text()
    clerk = chromium.new_context(base_url=console.url).new_page()
    try:
        browser_signin(clerk, "clara")
        assert clerk.goto("/kiosks/kiosk-1/commands").status == 403
    finally:
        clerk.context.close()
