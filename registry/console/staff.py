"""Staff and their cards (supervisors): who may open the box for deposits and service.

A staff member is known to the kiosks by card and PIN; the registry keeps
only their hashes. Adding, deactivating and unlocking go through the
OfficeServicer, which queues a resync so every kiosk of the office learns it
soon. The page lists the cards the kiosks locked after wrong PINs (their
STAFF_CARD_LOCKED events since the member's last unlock,
registry.events.open_card_locks) with an unlock button: the same PIN works
again once the kiosk has the staff record with the higher unlock generation.
"""

from __future__ import annotations

from starlette.responses import Response

from common.convert import from_timestamp
from common.credentials import CredentialFormatError, normalize_card_uid
from registry.console.app import Console, Page
from registry.console.calls import ServiceError
from registry.console.history import local_time
from registry.console.orders import REFERENCE
from registry.console.problems import failure_status, service_problem
from registry.console.texts import N_
from registry.events import CardLock, open_card_locks
from registry.permissions import Permission
from pickupbox.registry.v1 import registry_pb2 as pb

# Lock events are rare (five wrong PINs in a row); one page per kiosk is plenty.
LOCK_EVENTS_PAGE = 1000


async def card_locks(page: Page, members: list[pb.StaffMember]) -> list[CardLock]:
    """The active members' cards that a kiosk of the office locked and nobody unlocked."""
    kiosks = (await page.office.call("ListKiosks", pb.ListKiosksRequest())).kiosks
    events: list[tuple[str, pb.KioskEvent]] = []
    for kiosk in kiosks:
        reported = await page.office.call("ListKioskEvents", pb.ListKioskEventsRequest(
            kiosk_id=kiosk.kiosk_id, types=[pb.EVENT_TYPE_STAFF_CARD_LOCKED],
            page_size=LOCK_EVENTS_PAGE))
        events += [(stored.kiosk_id, stored.event) for stored in reported.events]
    unlocked = {m.staff_id: from_timestamp(m.card_unlock_time) for m in members if m.active}
    return open_card_locks(events, unlocked)


async def staff_page(page: Page, *, errors: dict | None = None, problem: str = "",
                     notice: str = "", status_code: int = 200) -> Response:
    members: list[pb.StaffMember] = []
    locks: list[CardLock] = []
    try:
        members = list((await page.office.call(
            "ListStaffMembers", pb.ListStaffMembersRequest())).staff_members)
        locks = await card_locks(page, members)
    except ServiceError as error:
        problem = problem or service_problem(page, error, {})
    _ = page._
    done = {"added": _("The staff member was added. The kiosks learn it within a minute."),
            "deactivated": _("The card no longer opens anything. The kiosks learn it within a"
                             " minute."),
            "unlocked": _("The card is unlocked; it works again with the same PIN once the"
                          " kiosks learn it (within a minute).")}
    return page.render(
        "staff.html", status_code, members=members, errors=errors or {}, problem=problem,
        locks=locks, locked={lock.staff_id for lock in locks},
        when=lambda moment: local_time(moment, page.language),
        notice=notice or done.get(page.request.query_params.get("done", ""), ""),
        values={name: page.field(name) for name in ("staff_id", "card_uid")},
        request_id=page.new_request_id(),
    )


async def add_staff(page: Page) -> Response:
    _ = page._
    errors: dict[str, str] = {}
    staff_id, card_uid, pin = page.field("staff_id"), page.field("card_uid"), page.field("pin")
    if not staff_id:
        errors["staff_id"] = _("Please enter a staff id, e.g. the person's short name.")
    elif not REFERENCE.fullmatch(staff_id):
        errors["staff_id"] = _("A staff id has letters, digits, '.', '_' and '-' only"
                               " (at most 64).")
    try:
        card_uid = normalize_card_uid(card_uid)
    except CredentialFormatError:
        errors["card_uid"] = _("The card number is hexadecimal, e.g. 04A1B2C3D4E5F6 (as the"
                               " card reader shows it).")
    if not (pin.isascii() and pin.isdigit() and len(pin) == 6):
        errors["pin"] = _("The staff PIN has exactly 6 digits.")
    if errors:
        return await staff_page(page, errors=errors, status_code=422)
    try:
        await page.office.call("CreateStaffMember", pb.CreateStaffMemberRequest(
            request_id=page.field("request_id"), staff_id=staff_id, card_uid=card_uid, pin=pin))
    except ServiceError as error:
        problem = service_problem(page, error, errors)
        if error.reason == "STAFF_EXISTS":
            errors["staff_id" if "staff member" in error.message else "card_uid"] = _(
                "This staff id or card is registered already.")
            problem = ""
        return await staff_page(page, errors=errors, problem=problem,
                                status_code=failure_status(error))
    return page.redirect("/staff?done=added")


async def deactivate_staff(page: Page) -> Response:
    staff_id = page.request.path_params["staff_id"]
    try:
        await page.office.call("DeactivateStaffMember", pb.DeactivateStaffMemberRequest(
            request_id=page.field("request_id"), staff_id=staff_id))
    except ServiceError as error:
        return await staff_page(page, problem=service_problem(page, error, {}),
                                status_code=failure_status(error))
    return page.redirect("/staff?done=deactivated")


async def unlock_card(page: Page) -> Response:
    staff_id = page.request.path_params["staff_id"]
    reason = page.field(f"reason-{staff_id}")  # one form per locked card
    try:
        await page.office.call("UnlockStaffCard", pb.UnlockStaffCardRequest(
            request_id=page.field("request_id"), staff_id=staff_id, reason=reason))
    except ServiceError as error:
        return await staff_page(page, problem=service_problem(page, error, {}),
                                status_code=failure_status(error))
    return page.redirect("/staff?done=unlocked")


def register(console: Console) -> None:
    console.add("/staff/{staff_id}/unlock", unlock_card, needs=Permission.STAFF_UNLOCK,
                methods=("POST",))
    console.add("/staff", staff_page, needs=Permission.STAFF_READ)
    console.add("/staff/add", add_staff, needs=Permission.STAFF_MANAGE, methods=("POST",))
    console.add("/staff/{staff_id}/deactivate", deactivate_staff, needs=Permission.STAFF_MANAGE,
                methods=("POST",))
    console.nav("/staff", N_("Staff and cards"), needs=Permission.STAFF_READ,
                description=N_("Who may open the box: add staff cards, deactivate lost ones,"
                               " unlock locked ones."))
