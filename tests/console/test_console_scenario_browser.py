"""One office day in a real headless Chromium, against the real registry and
a real kiosk (its core, store, uplink and gRPC client; only the locker bank,
card reader and scanner are simulated, as in tests/integration):

a clerk creates an order and downloads its letter (the PDF parsed, its QR
decoded with the kiosk's own decoder); staff deposit it at the kiosk with
card and PIN, the citizen collects it with the letter's QR and the PIN; the
clerk's order page and the supervisor's dashboard follow both without a
reload; a door forced open raises an alarm the supervisor acknowledges; the
supervisor opens a compartment remotely and the kiosk carries it out; a
clerk is refused the remote commands.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from kiosk.app import build_kiosk
from kiosk.config import load_settings
from kiosk.domain.compartment import CompartmentState
from kiosk.domain.pickup_session import PickupState
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.auth_support import enrol_into
from tests.console.conftest import browser_signin
from tests.console.test_console_orders import qr_of_letter
from tests.integration.conftest import STAFF_CARD, STAFF_PIN, FakeClock, KioskHarness, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LIVE = 30_000  # ms: the longest a live part may take on a loaded machine


@pytest.fixture
def kiosk(console, tmp_path):
    """kiosk-1 of the console's office, running, with staff member anna's card known."""
    console.registry.office.CreateStaffMember(pb.CreateStaffMemberRequest(
        staff_id="anna", card_uid=STAFF_CARD, pin=STAFF_PIN), timeout=10)
    settings = load_settings(None, {
        "PICKUPBOX_KIOSK__DATA_DIR": str(tmp_path / "kiosk"),
        "PICKUPBOX_REGISTRY__SYNC_INTERVAL_SECONDS": "0.2",
        "PICKUPBOX_REGISTRY__HEARTBEAT_INTERVAL_SECONDS": "1",
        "PICKUPBOX_REGISTRY__RETRY_MAX_SECONDS": "0.5",
    })
    enrol_into(console.registry.server.db, settings.kiosk.id, Path(settings.kiosk.data_dir))
    clock = FakeClock()
    running = build_kiosk(settings, registry_target=console.registry.address, clock=clock)
    running.start()
    try:
        wait_for(lambda: running.uplink.registered, 30, "kiosk registration")
        yield KioskHarness(running, console.registry, clock)
    finally:
        running.stop()


def _events(console, type_name: str) -> list:
    return console.registry.sql("SELECT * FROM events WHERE type = ?", type_name)


def _text_of(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def _wait_for_text(page, selector: str, text: str, present: bool = True) -> None:
    """Until the element's text has (or no longer has) ``text``: the live update came."""
    page.wait_for_function(
        "([selector, text, present]) => document.querySelector(selector).textContent"
        ".includes(text) === present", arg=[selector, text, present], timeout=LIVE)


def _not_reloaded(page) -> bool:
    return page.evaluate("() => performance.getEntriesByType('navigation').length") == 1 \
        and page.evaluate("() => performance.getEntriesByType('navigation')[0].type") != "reload"


def test_an_order_from_the_counter_through_the_kiosk_with_alarm_and_remote_open(
        browser_page, chromium, console, kiosk):
    # The clerk creates the order and prints the letter.
    clerk = browser_page
    browser_signin(clerk, "clara")
    clerk.get_by_role("link", name="Neuer Abholauftrag").first.click()
    clerk.get_by_label("Art des Dokuments").select_option("id_card")
    clerk.get_by_label("Vorgangsnummer des Bürgerbüros").fill("BB-E2E-1")
    clerk.get_by_role("button", name="Auftrag anlegen").click()
    clerk.wait_for_selector("#pickup-code")
    code, pin = _text_of(clerk, "#pickup-code"), _text_of(clerk, "#pin")
    with clerk.expect_download() as download:
        clerk.get_by_role("link", name="Anschreiben herunterladen (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    letter_qr = qr_of_letter(pdf)  # what the citizen will hold up to the kiosk
    assert letter_qr == "PBX1:" + code.replace("-", "")
    assert code in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    clerk.get_by_role("link", name="Auftrag öffnen").click()
    assert _text_of(clerk, "#order-state") == "Angekündigt (noch nicht in der Station)"

    # The supervisor watches the dashboard.
    supervisor = chromium.new_context(base_url=console.url).new_page()
    browser_signin(supervisor, "sven")
    supervisor.goto("/fleet")
    assert "kiosk-1" in _text_of(supervisor, "#fleet")
    assert "BB-E2E-1" not in supervisor.locator("#fleet").inner_html()

    # Staff deposit the document at the kiosk: card, PIN, scan, close the door.
    number = kiosk.deposit("BB-E2E-1")
    _wait_for_text(clerk, "#order-state", "In der Station")
    _wait_for_text(clerk, "#order-history", "In die Station eingelegt")
    assert "Fach " + str(number) in _text_of(clerk, "#order-history")
    assert clerk.locator("#order-changed").is_visible()  # the actions to offer changed
    supervisor.wait_for_function(
        "() => document.querySelector('#fleet').innerHTML.includes('BB-E2E-1')", timeout=LIVE)

    # The citizen collects it with the letter's QR code and the PIN.
    view = kiosk.pickup(letter_qr, pin)
    assert view.pickup_state is PickupState.DOOR_OPEN and view.pickup_compartment == number
    kiosk.bank.close_door(number)
    assert kiosk.core.view().pickup_state is PickupState.DONE
    _wait_for_text(clerk, "#order-state", "Abgeholt")
    _wait_for_text(clerk, "#order-history", "Von der Bürgerin oder dem Bürger abgeholt")
    supervisor.wait_for_function(
        "() => !document.querySelector('#fleet').innerHTML.includes('BB-E2E-1')", timeout=LIVE)
    assert _not_reloaded(clerk) and _not_reloaded(supervisor)

    # Someone pries a door open: the alarm reaches the console and is acknowledged.
    free = [n for n in sorted(kiosk.bank.door_states()) if n != number
            and kiosk.store.compartment(n).state is CompartmentState.FREE]
    forced, opened = free[0], free[1]
    kiosk.bank.force_door(forced)
    wait_for(lambda: _events(console, "EVENT_TYPE_DOOR_FORCED"), 30, "the alarm at the registry")
    kiosk.bank.close_door(forced)
    supervisor.goto("/")
    supervisor.get_by_role("link", name="Offene Alarme: 1").click()
    assert "Tür aufgebrochen" in _text_of(supervisor, "main")
    supervisor.get_by_label("Kommentar").fill("Tür geprüft und geschlossen")
    supervisor.get_by_role("button", name="Alarm bestätigen").click()
    supervisor.wait_for_selector("text=Der Alarm wurde bestätigt.")
    assert supervisor.get_by_role("link", name="Offene Alarme: 1").count() == 0
    assert [r["actor"] for r in console.audit("alarm.acknowledged")] == ["user:sven"]

    # The supervisor opens a free compartment remotely; the kiosk carries it out.
    supervisor.goto("/fleet/kiosk-1")
    supervisor.get_by_role("link", name="Fernbefehle für kiosk-1").click()
    supervisor.get_by_label("Was soll die Station tun?").select_option("open")
    supervisor.get_by_label("Fachnummer").fill(str(opened))
    supervisor.get_by_label("Grund").fill("Fach prüfen")
    supervisor.get_by_role("button", name="Befehl senden").click()
    supervisor.wait_for_selector("#command-results")
    assert "Fach prüfen" in _text_of(supervisor, "#command-results")
    wait_for(lambda: any(u.compartment == opened for u in kiosk.bank.unlock_log), 30,
             "the kiosk to unlock the compartment")
    wait_for(lambda: _events(console, "EVENT_TYPE_COMPARTMENT_SERVICE_OPENED"), 30,
             "the opening reported to the registry")
    kiosk.bank.close_door(opened)
    supervisor.reload()
    assert "ausgeführt" in _text_of(supervisor, "#command-results")

    # A clerk may not send remote commands.
    response = clerk.goto("/kiosks/kiosk-1/commands")
    assert response.status == 403 and _text_of(clerk, "h1") == "Nicht erlaubt"
    assert "user:clara" in [r["actor"] for r in console.audit("call.denied")]
    supervisor.context.close()
