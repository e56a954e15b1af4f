"""A walk through every console page in a browser, for the axe checks and
the screenshots (tools/console-screenshots). Each step leaves the browser on
one page and yields that page's name; fields are found by id, so the tour
works in every language.

Before it walks, the tour puts in the registry what the fuller pages show
(``seed``): kiosk-1 with a document in the box, whose page offers the
counter's actions (send the reminder again, extend the deadline), and a
staff card the kiosk locked, listed with its unlock form. The kiosk's
reports come as the kiosk sends them (ReportEvents as kiosk-1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from pickupbox.registry.v1 import registry_pb2 as pb
from tests.console.conftest import PASSWORD
from tests.registry.conftest import compartments


def _report(console, type_: int, **fields) -> None:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, **fields)
    event.occur_time.GetCurrentTime()
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=10)


def seed(console, language: str) -> None:
    """Per language its own order and card, so one registry serves every language."""
    console.registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="kiosk-1", software_version="tour",
        compartments=compartments(*(pb.COMPARTMENT_STATE_FREE,) * 4)), timeout=10)
    office = console.registry.office
    reference = f"BB-TOUR-BOX-{language}"
    office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        request_id=str(uuid.uuid4()), reference=reference, kind=pb.DOCUMENT_KIND_ID_CARD,
        kiosk_id="kiosk-1", contact=f"ida@example.org;lang={language}"), timeout=10)
    deadline = pb.KioskEvent().pickup_deadline
    deadline.FromDatetime(datetime.now(timezone.utc) + timedelta(days=14))
    _report(console, pb.EVENT_TYPE_ORDER_DEPOSITED, order_reference=reference,
            compartment_number=2, staff_ids=[f"tour-{language}"], pickup_deadline=deadline)
    card = "04A1B2C3D4E5" + {"de": "F6", "en": "F7"}.get(language, "F8")
    office.CreateStaffMember(pb.CreateStaffMemberRequest(
        staff_id=f"tour-{language}", card_uid=card, pin="246810"), timeout=10)
    _report(console, pb.EVENT_TYPE_STAFF_CARD_LOCKED, staff_ids=[f"tour-{language}"],
            detail="staff card locked after 5 wrong PINs in a row")


def _signin(page, user: str, password: str = PASSWORD) -> None:
    page.fill("#field-user", user)
    page.fill("#field-password", password)
    page.click("form[action='/signin'] button[type=submit]")


def _signout(page) -> None:
    page.click("form[action='/signout'] button[type=submit]")
    page.wait_for_url("**/signin?out=1")


def tour(page, language: str, console) -> Iterator[str]:
    """``console``: the running console (tests/console/conftest.py) the page is on."""
    seed(console, language)
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
    page.fill("#field-return_reason", "tour")
    page.click(f"form[action='/orders/BB-TOUR-{language}/return'] button[type=submit]")
    page.wait_for_url("**?done=returned")
    yield "order-returned"
    page.goto(f"/orders/BB-TOUR-BOX-{language}")
    page.wait_for_selector(f"form[action='/orders/BB-TOUR-BOX-{language}/remind']")
    yield "order-in-box"
    page.click(f"form[action='/orders/BB-TOUR-BOX-{language}/remind'] button[type=submit]")
    page.wait_for_selector(".notice, .problem")  # without a messages service: the problem
    yield "order-reminder-again"
    page.goto("/staff")
    yield "refused"
    _signout(page)
    yield "signed-out"
    _signin(page, "sven")
    page.wait_for_url(lambda url: "/signin" not in url)
    page.goto(f"/orders/BB-TOUR-BOX-{language}")
    page.wait_for_selector(f"form[action='/orders/BB-TOUR-BOX-{language}/extend']")
    yield "order-in-box-supervisor"
    page.goto("/staff")
    page.wait_for_selector(f"form[action='/staff/tour-{language}/unlock']")
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
