"""The console in a real headless Chromium (Debian's chromium, Playwright):
a clerk signs in, creates an order and downloads its letter (the QR in the
PDF is decoded with the kiosk's own decoder), is refused a supervisor's
page, and axe-core finds no serious or critical violation on any page in
either language."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from tests.console.conftest import axe_violations, browser_signin
from tests.console.test_console_orders import qr_of_letter
from tests.console.tour import tour

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_a_clerk_creates_an_order_and_prints_its_letter(browser_page, console):
    page = browser_page
    page.goto("/")
    assert "/signin" in page.url and page.locator("h1").inner_text() == "Anmelden"
    browser_signin(page, "clara")
    page.get_by_role("link", name="Neuer Abholauftrag").first.click()
    page.get_by_label("Art des Dokuments").select_option("id_card")
    page.get_by_label("Barrierefreies Fach").check()
    page.get_by_label("Vorgangsnummer des Bürgerbüros").fill("BB-BROWSER-1")
    page.get_by_label("Sprache der Bürgerin").select_option("en")
    page.get_by_role("button", name="Auftrag anlegen").click()
    page.wait_for_selector("#pickup-code")
    code = page.locator("#pickup-code").inner_text()
    assert page.locator("#pin").inner_text().isdigit()
    with page.expect_download() as download:
        page.get_by_role("link", name="Anschreiben herunterladen (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    assert qr_of_letter(pdf) == "PBX1:" + code.replace("-", "")
    assert "Pickup code" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    page.get_by_role("link", name="Auftrag öffnen").click()
    assert page.locator("#order-state").inner_text() == "Angekündigt (noch nicht in der Station)"
    assert page.get_by_role("cell", name="Auftrag angelegt").is_visible()


def test_a_clerk_is_refused_a_supervisors_page(browser_page, console):
    page = browser_page
    browser_signin(page, "clara")
    assert page.get_by_role("link", name="Personal und Karten").count() == 0
    response = page.goto("/staff")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Nicht erlaubt"
    assert [r["actor"] for r in console.audit("call.denied")] == ["user:clara"]


def test_the_skip_link_is_the_first_stop_and_visible_on_focus(browser_page, console):
    page = browser_page
    browser_signin(page, "clara")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Zum Inhalt springen"
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["y"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_a_refused_form_takes_the_focus_to_its_errors(browser_page, console):
    page = browser_page
    browser_signin(page, "clara")
    page.goto("/orders/new")
    page.get_by_role("button", name="Auftrag anlegen").click()
    page.wait_for_selector(".error-summary")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    assert page.get_by_label("Art des Dokuments").get_attribute("aria-invalid") == "true"


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_page_passes_axe(browser_page, console, language):
    found = {}
    for name in tour(browser_page, language, console):
        assert browser_page.evaluate("() => document.documentElement.lang") == language, name
        violations = axe_violations(browser_page)
        if violations:
            found[name] = violations
    assert found == {}


def test_pages_reflow_at_200_percent_zoom(chromium, console):
    # 200 % zoom of a 1280 px window: the layout gets 640 CSS px. Nothing may
    # need sideways scrolling (WCAG 1.4.10 asks this down to 320 px).
    context = chromium.new_context(base_url=console.url, viewport={"width": 640, "height": 800},
                                   device_scale_factor=2)
    page = context.new_page()
    try:
        for name in tour(page, "de", console):
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 200 % zoom"
    finally:
        context.close()
