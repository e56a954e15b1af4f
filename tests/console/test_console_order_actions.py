"""The order actions at the counter and the card unlock through the console:
returned to the counter, the reminder again (a real aiosmtpd receives it),
a locked staff card unlocked from the staff page."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pickupbox.registry.v1 import registry_pb2 as pb
from registry.messages.config import MessagesConfig
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from tests.console.conftest import form_fields, start_console
from tests.messages.conftest import start_smtp
from tests.registry.conftest import compartments

pytestmark = pytest.mark.integration


def _register(console) -> None:
    console.registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="kiosk-1", software_version="test",
        compartments=compartments(*(pb.COMPARTMENT_STATE_FREE,) * 3)), timeout=5)


def _order(console, reference: str, contact: str = "") -> None:
    console.registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        request_id=str(uuid.uuid4()), reference=reference, kind=pb.DOCUMENT_KIND_ID_CARD,
        kiosk_id="kiosk-1", contact=contact), timeout=5)


def _report(console, type_: int, reference: str = "", **fields) -> None:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, order_reference=reference,
                          **fields)
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)


def _deposit(console, reference: str) -> None:
    deadline = pb.KioskEvent().pickup_deadline
    deadline.FromDatetime(datetime.now(timezone.utc) + timedelta(days=14))
    _report(console, pb.EVENT_TYPE_ORDER_DEPOSITED, reference, compartment_number=2,
            pickup_deadline=deadline)


def test_a_clerk_marks_an_order_returned_to_the_counter(console):
    _register(console)
    _order(console, "BB-COUNTER-1")
    clara = console.client("clara")
    page = clara.get("/orders/BB-COUNTER-1")
    assert "Als am Schalter zurückgegeben markieren" in page.text
    fields = form_fields(page.text)
    missing = clara.post("/orders/BB-COUNTER-1/return", data=fields)
    assert missing.status_code == 422 and 'id="error-return_reason"' in missing.text
    done = clara.post("/orders/BB-COUNTER-1/return",
                      data={**fields, "return_reason": "am Schalter abgeholt"})
    assert done.status_code == 303
    assert clara.post("/orders/BB-COUNTER-1/return",  # a double submit: replayed
                      data={**fields, "return_reason": "am Schalter abgeholt"}).status_code == 303
    shown = clara.get("/orders/BB-COUNTER-1?done=returned").text
    assert "Der Auftrag ist beendet" in shown
    assert 'id="order-state">Zurück am Schalter' in shown
    assert "Zurück am Schalter (Auftrag beendet)" in shown and "am Schalter abgeholt" in shown
    assert "Als am Schalter zurückgegeben markieren" not in shown  # once is enough
    assert [r["actor"] for r in console.audit("order.returned_to_counter")] == ["user:clara"]


def test_a_document_in_the_box_is_not_marked_returned(console):
    _register(console)
    _order(console, "BB-COUNTER-2")
    _deposit(console, "BB-COUNTER-2")
    clara = console.client("clara")
    page = clara.get("/orders/BB-COUNTER-2")
    assert 'id="return-hint"' in page.text
    assert "/orders/BB-COUNTER-2/return" not in page.text
    forged = clara.post("/orders/BB-COUNTER-2/return",
                        data={**form_fields(page.text), "return_reason": "x"})
    assert forged.status_code == 409 and "removed at the box first" in forged.text
    assert console.audit("order.returned_to_counter") == []


def test_the_reminder_sent_again_arrives_once_per_click(tmp_path):
    smtp = start_smtp()
    messages = MessagesNotifier(MessagesConfig(
        retry_base_seconds=0.1, retry_max_seconds=0.5,
        email=SmtpConfig(host="127.0.0.1", port=smtp.port, sender="amt@musterstadt.example",
                         security=PLAIN, timeout=5)), queue_path=tmp_path / "messages.sqlite3")
    console = start_console(tmp_path, more_notifiers=(messages,))
    try:
        _register(console)
        _order(console, "BB-REMIND-1", contact="ida@example.org")
        _deposit(console, "BB-REMIND-1")
        smtp.handler.wait_for(1)  # the ready notice
        clara = console.client("clara")
        fields = form_fields(clara.get("/orders/BB-REMIND-1").text)
        for _ in range(2):  # a double click: one request id
            assert clara.post("/orders/BB-REMIND-1/remind", data=fields).status_code == 303
        reminder = smtp.handler.wait_for(2)[1].parsed()
        assert reminder["Subject"].startswith("Erinnerung")
        assert messages.worker.wait_until_idle(10)
        assert len(smtp.handler.received) == 2
        page = clara.get("/orders/BB-REMIND-1?done=reminded").text
        assert "Die Erinnerung ist unterwegs" in page
        assert "Erinnerung erneut gesendet" in page and "Per E-Mail" in page
    finally:
        console.close()
        smtp.controller.stop()


def test_a_supervisor_unlocks_a_locked_card_from_the_staff_page(console):
    _register(console)
    office = console.registry.office
    office.CreateStaffMember(pb.CreateStaffMemberRequest(
        staff_id="anna", card_uid="04A1B2C3D4E5F6", pin="246810"), timeout=5)
    office.CreateStaffMember(pb.CreateStaffMemberRequest(
        staff_id="ben", card_uid="04A1B2C3D4E5F7", pin="246810"), timeout=5)
    sven = console.client("sven")
    assert "Gesperrte Karten" not in sven.get("/staff").text
    _report(console, pb.EVENT_TYPE_STAFF_CARD_LOCKED, staff_ids=["anna"],
            detail="staff card locked after 5 wrong PINs in a row")
    page = sven.get("/staff").text
    assert "Gesperrte Karten" in page and "Karte von anna entsperren" in page
    assert "Karte von ben entsperren" not in page
    done = sven.post("/staff/anna/unlock", data={**form_fields(page),
                                                "reason-anna": "vertippt, Ausweis geprüft"})
    assert done.status_code == 303
    after = sven.get("/staff?done=unlocked").text
    assert "Die Karte ist entsperrt" in after and "Karte von anna entsperren" not in after
    (audited,) = console.audit("staff.card_unlocked")
    assert audited["actor"] == "user:sven" and "Ausweis geprüft" in audited["detail"]
    # A clerk neither sees the page nor gets through with a forged form.
    clara = console.client("clara")
    refused = clara.post("/staff/anna/unlock",
                         data={"csrf": form_fields(clara.get("/").text)["csrf"]})
    assert refused.status_code == 403
