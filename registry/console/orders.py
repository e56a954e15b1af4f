"""Pickup orders: create one (code, QR and PIN shown once, the letter to
print), find orders, an order's page with its history, cancel and reissue.
An open order page follows the order live: its state and history are sent
again (``/orders/<reference>/live``) whenever the kiosk or a colleague acted.

Every change goes through the OfficeServicer (its rules, its audit). Forms
carry a request_id drawn when the form was shown: a second submit of the
same form replays the first result instead of acting twice (for a create
within the registry's secret hold, with the same code and PIN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import grpc
import segno
from google.protobuf.timestamp_pb2 import Timestamp
from markupsafe import Markup
from starlette.responses import Response

from common.convert import from_timestamp, order_status_from_proto, to_timestamp
from registry.console import history
from registry.console import live as live_parts
from registry.console.app import Console, Page
from registry.console.calls import ServiceError
from registry.console.problems import failure_status, service_problem
from registry.console.letter import LetterContent, render_letter
from registry.console.texts import N_
from registry.messages.contacts import LANGUAGES as CONTACT_LANGUAGES
from registry.messages.contacts import ContactError, parse_contact
from registry.errors import ORDER_IN_BOX
from registry.office_service import counter_return_refusal
from registry.permissions import Permission
from pickupbox.registry.v1 import registry_pb2 as pb

PAGE_SIZE = 25
PAGE_SIZES = ("25", "100", "1000")  # 1000: the ListPickupOrders maximum
UNKNOWN = N_("Unknown")
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

KINDS = [
    ("id_card", pb.DOCUMENT_KIND_ID_CARD, N_("Identity card")),
    ("passport", pb.DOCUMENT_KIND_PASSPORT, N_("Passport")),
    ("child_passport", pb.DOCUMENT_KIND_CHILD_PASSPORT, N_("Child's passport")),
    ("residence_permit", pb.DOCUMENT_KIND_RESIDENCE_PERMIT, N_("Residence permit")),
    ("other", pb.DOCUMENT_KIND_OTHER, N_("Other document")),
]
SIZES = [
    ("S", pb.COMPARTMENT_SIZE_S, N_("Small (S): identity card, residence permit")),
    ("M", pb.COMPARTMENT_SIZE_M, N_("Medium (M): passport")),
    ("L", pb.COMPARTMENT_SIZE_L, N_("Large (L): several documents")),
]
STATUSES = [
    ("announced", pb.ORDER_STATUS_ANNOUNCED, N_("Announced (not yet in the box)")),
    ("deposited", pb.ORDER_STATUS_DEPOSITED, N_("In the box")),
    ("collected", pb.ORDER_STATUS_COLLECTED, N_("Collected")),
    ("expired", pb.ORDER_STATUS_EXPIRED, N_("Deadline passed")),
    ("removed", pb.ORDER_STATUS_REMOVED, N_("Taken out by staff")),
    ("cancelled", pb.ORDER_STATUS_CANCELLED, N_("Cancelled")),
    ("returned_to_counter", pb.ORDER_STATUS_RETURNED_TO_COUNTER, N_("Back at the counter")),
]
LANGUAGE_NAMES = {
    "de": "Deutsch", "en": "English", "tr": "Türkçe", "uk": "Українська", "ru": "Русский",
    "pl": "Polski", "ar": "العربية",
}
KIND_LABELS = {proto: label for _, proto, label in KINDS}
SIZE_LABELS = {proto: label for _, proto, label in SIZES}
STATUS_LABELS = {proto: label for _, proto, label in STATUSES}
OPEN_STATUSES = (pb.ORDER_STATUS_ANNOUNCED, pb.ORDER_STATUS_DEPOSITED)

@dataclass(frozen=True)
class HeldSecret:
    """A just-issued code, kept in the clerk's session (memory only) for the letter."""

    letter: LetterContent


def _choice(value: str, choices) -> int | None:
    return next((proto for key, proto, _ in choices if key == value), None)


def qr_svg(payload: str, title: str) -> Markup:
    svg = segno.make(payload, error="m", micro=False).svg_inline(
        scale=4, border=4, title=title, svgclass="qr-code", lineclass=None)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="' + title.replace('"', "")
                              + '" ', 1))


def _timestamp(value) -> datetime | None:
    return from_timestamp(value)


# ------------------------------------------------------------------ create

async def _kiosk_choices(page: Page) -> list[tuple[str, str]]:
    _ = page._
    try:
        kiosks = (await page.office.call("ListKiosks", pb.ListKiosksRequest())).kiosks
    except ServiceError:
        kiosks = []
    return [("", _("The office's box"))] + [(k.kiosk_id, k.kiosk_id) for k in kiosks]


async def _new_order_form(page: Page, errors: dict | None = None, problem: str = "",
                          status_code: int = 200) -> Response:
    _ = page._
    values = {name: page.field(name) for name in
              ("kind", "size", "kiosk", "contact", "language", "reference", "recipient")}
    values["language"] = values["language"] or "de"
    values["size"] = values["size"] or "S"
    return page.render(
        "order_new.html", status_code, errors=errors or {}, problem=problem, values=values,
        low=page.field("low") == "yes",
        kinds=[("", _("Please choose"))] + [(k, _(label)) for k, _p, label in KINDS],
        sizes=[(k, _(label)) for k, _p, label in SIZES],
        kiosks=await _kiosk_choices(page),
        citizen_languages=[(code, LANGUAGE_NAMES[code]) for code in CONTACT_LANGUAGES],
        request_id=page.field("request_id") or page.new_request_id(),
    )


def _validate_new_order(page: Page) -> tuple[pb.CreatePickupOrderRequest | None, dict]:
    _ = page._
    errors: dict[str, str] = {}
    kind = _choice(page.field("kind"), KINDS)
    if kind is None:
        errors["kind"] = _("Please choose the kind of document.")
    size = _choice(page.field("size") or "S", SIZES)
    if size is None:
        errors["size"] = _("Please choose a compartment size.")
    language = page.field("language") or "de"
    if language not in CONTACT_LANGUAGES:
        errors["language"] = _("Please choose one of the offered languages.")
        language = "de"
    contact = page.field("contact")
    if contact:
        if ";" in contact:
            errors["contact"] = _("Please enter only the e-mail address or mobile number.")
        else:
            contact = f"{contact};lang={language}"
            try:
                parse_contact(contact)
            except ContactError as error:
                errors["contact"] = _("This is not an e-mail address or mobile number we can"
                                      " send to ({detail}).", detail=str(error))
    reference = page.field("reference")
    if reference and not REFERENCE.fullmatch(reference):
        errors["reference"] = _("A reference has letters, digits, '.', '_' and '-' only"
                                " (at most 64), e.g. BB-2026-0815.")
    pin = page.field("pin")
    if pin and not (pin.isascii() and pin.isdigit() and len(pin) == 6):
        errors["pin"] = _("The PIN has exactly 6 digits. Leave it empty to have one generated.")
    if len(page.field("recipient")) > 400:
        errors["recipient"] = _("The address is too long (at most 400 characters).")
    if errors:
        return None, errors
    return pb.CreatePickupOrderRequest(
        request_id=page.field("request_id"), reference=reference, kind=kind, size=size,
        needs_low_compartment=page.field("low") == "yes", kiosk_id=page.field("kiosk"),
        pin=pin, contact=contact,
    ), errors


async def new_order(page: Page) -> Response:
    if page.request.method == "GET":
        return await _new_order_form(page)
    request, errors = _validate_new_order(page)
    if request is None:
        return await _new_order_form(page, errors, status_code=422)
    try:
        response = await page.office.call("CreatePickupOrder", request)
    except ServiceError as error:
        problem = service_problem(page, error, errors)
        status = 422 if errors else failure_status(error)
        return await _new_order_form(page, errors, problem, status)
    return _issued(page, response, language=page.field("language") or "de",
                   recipient=page.field("recipient"), chosen_pin=bool(request.pin), created=True)


def _issued(page: Page, response, *, language: str, recipient: str, chosen_pin: bool,
            created: bool) -> Response:
    """The one page that shows a code, its QR and the PIN; the letter is held for printing."""
    _ = page._
    order = response.order
    if not response.pickup_code:
        # A replay after the registry's secret hold ran out: the code is gone for good.
        return page.render("order_issued.html", order=order, code="", pin="", qr="",
                           created=created, kind=_(KIND_LABELS.get(order.kind, "Other document")),
                           chosen_pin=chosen_pin)
    letter = LetterContent(
        reference=order.reference,
        kind=pb.DocumentKind.Name(order.kind).removeprefix("DOCUMENT_KIND_").lower(),
        pickup_code=response.pickup_code, qr_payload=response.qr_payload,
        kiosk_id=order.kiosk_id, language=language, recipient=recipient,
        deadline=_timestamp(order.pickup_deadline),
        requires_pin_letter=order.requires_pin_letter_confirmation,
    )
    page.session.held[("letter", order.reference)] = HeldSecret(letter)
    return page.render(
        "order_issued.html", order=order, code=response.pickup_code, pin=response.pin,
        qr=qr_svg(response.qr_payload, _("QR code of order {reference}",
                                         reference=order.reference)),
        created=created, kind=_(KIND_LABELS.get(order.kind, "Other document")),
        chosen_pin=chosen_pin,
    )


async def letter(page: Page) -> Response:
    reference = page.request.path_params["reference"]
    held = page.session.held.get(("letter", reference))
    if held is None:
        return page.render("letter_gone.html", 410, reference=reference)
    pdf = render_letter(held.letter, page.console.letter_settings)
    return Response(pdf, media_type="application/pdf", headers={
        "content-disposition": f'attachment; filename="Abholschreiben-{reference}.pdf"',
    })


# -------------------------------------------------------------------- find

async def find_orders(page: Page) -> Response:
    _ = page._
    query = page.request.query_params
    values = {name: query.get(name, "").strip() for name in
              ("reference", "status", "kiosk", "created_from", "created_to", "size", "page")}
    errors: dict[str, str] = {}
    problem = ""
    if values["reference"]:
        reference = values["reference"]
        if not REFERENCE.fullmatch(reference):
            errors["reference"] = _("A reference has letters, digits, '.', '_' and '-' only.")
        else:
            try:
                await page.office.call("GetPickupOrder",
                                       pb.GetPickupOrderRequest(reference=reference))
            except ServiceError as error:
                errors["reference"] = service_problem(page, error, {}) or _(
                    "There is no order with this reference in your office.")
            else:
                return page.redirect(f"/orders/{reference}")
    status = _choice(values["status"], STATUSES) if values["status"] else None
    if values["status"] and status is None:
        errors["status"] = _("Please choose one of the offered states.")
    created_after = _day(page, values["created_from"], "created_from", errors)
    created_before = _day(page, values["created_to"], "created_to", errors)
    if created_before is not None:
        created_before += timedelta(days=1)  # "to" names the last day searched
    if created_after and created_before and created_before <= created_after:
        errors["created_to"] = _("The last day must not be before the first day.")
    token = values["page"]
    if token and not (token.isascii() and token.isdigit()):
        token = ""
    orders, next_token = [], ""
    if not errors:
        request = pb.ListPickupOrdersRequest(
            statuses=[status] if status else [], kiosk_id=values["kiosk"],
            page_size=int(values["size"]) if values["size"] in PAGE_SIZES else PAGE_SIZE,
            page_token=token)
        if created_after is not None:
            request.created_after.CopyFrom(to_timestamp(created_after))
        if created_before is not None:
            request.created_before.CopyFrom(to_timestamp(created_before))
        try:
            response = await page.office.call("ListPickupOrders", request)
            orders, next_token = list(response.orders), response.next_page_token
        except ServiceError as error:
            problem = service_problem(page, error, errors)
    # htmx asks for the results only (hx-request), a plain request for the whole page.
    partial = page.request.headers.get("hx-request")
    template = "orders_results.html" if partial else "orders_find.html"
    return page.render(
        template, 422 if errors else 200, errors=errors, problem=problem, values=values,
        orders=orders, next_token=next_token, first_page=not token,
        statuses=[("", _("All"))] + [(k, _(label)) for k, _p, label in STATUSES],
        kiosks=await _kiosk_choices(page), sizes=[(size, size) for size in PAGE_SIZES],
        status_label=lambda s: _(STATUS_LABELS.get(s, UNKNOWN)),
        kind_label=lambda k: _(KIND_LABELS.get(k, "Other document")),
        when=lambda ts: history.local_time(_timestamp(ts), page.language),
        query_for=lambda token_: _query(values, token_),
    )


def _day(page: Page, text: str, name: str, errors: dict) -> datetime | None:
    """A searched day (YYYY-MM-DD, as <input type=date> sends it): its local midnight."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = page._("Please enter a date as DD.MM.YYYY (e.g. 02.12.2026).")
        return None
    return datetime.combine(day, time(0), tzinfo=history.TIME_ZONE)


def _query(values: dict, token: str) -> str:
    from urllib.parse import urlencode

    params = {k: v for k, v in values.items() if v and k != "page"}
    if token:
        params["page"] = token
    return urlencode(params)


# ------------------------------------------------------------------- order

async def order_page(page: Page, *, errors: dict | None = None, problem: str = "",
                     status_code: int = 200) -> Response:
    _ = page._
    reference = page.request.path_params["reference"]
    try:
        order = (await page.office.call(
            "GetPickupOrder", pb.GetPickupOrderRequest(reference=reference))).order
    except ServiceError as error:
        status = 404 if error.code == grpc.StatusCode.NOT_FOUND else 403
        return page.render("order_missing.html", status, problem=service_problem(page, error, {}))
    done = page.request.query_params.get("done", "")
    notice = {"cancelled": _("The order is cancelled."),
              "extended": _("The new deadline is set; the box learns it within a minute."),
              "returned": _("The order has ended: the document is handed over at the counter."
                            " The box no longer accepts its code."),
              "reminded": _("The reminder is on its way to the citizen."),
              }.get(done, "")
    refusal = counter_return_refusal(order_status_from_proto(order.status),
                                     order.deposit_time.seconds > 0) if order.status else None
    return page.render(
        "order.html", status_code, errors=errors or {}, problem=problem, notice=notice,
        is_open=order.status in OPEN_STATUSES,
        in_box=order.status == pb.ORDER_STATUS_DEPOSITED,
        # The same rule the registry applies (registry/office_service.py).
        returnable=bool(order.status) and refusal is None,
        still_in_box=refusal is not None and refusal[0] == ORDER_IN_BOX,
        request_id=page.new_request_id(), **_live_parts(page, order),
    )


def _live_parts(page: Page, order: pb.PickupOrder, shown: int | None = None) -> dict:
    """What _order_facts.html and _order_history.html show; ``shown``: the state
    the open page was loaded with (None on the page itself)."""
    _ = page._
    return {
        "order": order, "shown": shown,
        "entries": history.order_history(page.console.db, order.reference, page.language),
        "status_label": _(STATUS_LABELS.get(order.status, UNKNOWN)),
        "kind_label": _(KIND_LABELS.get(order.kind, "Other document")),
        "size_label": _(SIZE_LABELS.get(order.size, UNKNOWN)),
        "when": lambda ts: history.local_time(_timestamp(ts), page.language),
    }


async def order_live(page: Page) -> Response:
    """Server-sent events for an open order page: its state and history again
    whenever something happened to the order (registry/console/live.py).

    The same access as the page: GetPickupOrder decides (a clerk of another
    office gets the page's "not found" and no stream), before the stream and
    again for every update."""
    reference = page.request.path_params["reference"]
    shown = page.request.query_params.get("shown", "")
    shown_status = int(shown) if shown.isascii() and shown.isdigit() else None
    try:
        await page.office.call("GetPickupOrder", pb.GetPickupOrderRequest(reference=reference))
    except ServiceError as error:
        status = 404 if error.code == grpc.StatusCode.NOT_FOUND else 403
        return page.render("order_missing.html", status, problem=service_problem(page, error, {}))

    async def render() -> str | None:
        try:
            order = (await page.office.call(
                "GetPickupOrder", pb.GetPickupOrderRequest(reference=reference))).order
        except ServiceError:
            return None
        parts = _live_parts(page, order, shown_status)
        facts = page.render("_order_facts.html", **parts).body.decode()
        entries = page.render("_order_history.html", **parts).body.decode()
        return (f'<div id="order-facts">{facts}</div>\n'
                f'<div id="order-history">{entries}</div>')

    return live_parts.stream(
        page, "order", lambda tx: history.order_history_version(tx, reference), render)


def _reason(page: Page, errors: dict, name: str) -> str:
    _ = page._
    reason = page.field(name)
    if not reason:
        errors[name] = _("Please give a reason; it is kept in the order's history.")
    elif len(reason) > 500:
        errors[name] = _("The reason is too long (at most 500 characters).")
    return reason


async def _order_action(page: Page, rpc: str, request_type, reason_field: str,
                        form_fields: dict[str, str] | None = None, **fields):
    """Runs one action form of the order page: (the response, None) when it was done,
    (None, the order page with the problem next to its field) when not."""
    reference = page.request.path_params["reference"]
    errors: dict[str, str] = {}
    reason = _reason(page, errors, reason_field)
    if errors:
        return None, await order_page(page, errors=errors, status_code=422)
    try:
        return await page.office.call(rpc, request_type(
            request_id=page.field("request_id"), reference=reference, reason=reason, **fields
        )), None
    except ServiceError as error:
        problem = service_problem(page, error, errors,
                                  {"reason": reason_field, **(form_fields or {})})
        return None, await order_page(page, errors=errors, problem=problem,
                                      status_code=failure_status(error))


async def cancel_order(page: Page) -> Response:
    _response, refused = await _order_action(page, "CancelPickupOrder",
                                             pb.CancelPickupOrderRequest, "cancel_reason")
    reference = page.request.path_params["reference"]
    return refused or page.redirect(f"/orders/{reference}?done=cancelled")


async def reissue_code(page: Page) -> Response:
    response, refused = await _order_action(page, "ReissuePickupCode",
                                            pb.ReissuePickupCodeRequest, "reissue_reason")
    if refused is not None:
        return refused
    language = page.field("language") or "de"
    return _issued(page, response, language=language, recipient="", chosen_pin=False,
                   created=False)


async def extend_deadline(page: Page) -> Response:
    """A later last day for a document in the box, to the end of that day (local time)."""
    _ = page._
    reference = page.request.path_params["reference"]
    try:
        day = date.fromisoformat(page.field("new_deadline"))
    except ValueError:
        return await order_page(page, status_code=422, errors={"new_deadline": _(
            "Please give the new last day as YYYY-MM-DD, e.g. 2026-12-31.")})
    deadline = Timestamp()
    deadline.FromDatetime(datetime.combine(day, time(23, 59), history.TIME_ZONE)
                          .astimezone(timezone.utc))
    _response, refused = await _order_action(
        page, "ExtendPickupDeadline", pb.ExtendPickupDeadlineRequest, "extend_reason",
        {"pickup_deadline": "new_deadline"}, pickup_deadline=deadline)
    return refused or page.redirect(f"/orders/{reference}?done=extended")


async def return_to_counter(page: Page) -> Response:
    """The citizen gets the document at the counter: the order ends everywhere."""
    _response, refused = await _order_action(page, "MarkReturnedToCounter",
                                             pb.MarkReturnedToCounterRequest, "return_reason")
    reference = page.request.path_params["reference"]
    return refused or page.redirect(f"/orders/{reference}?done=returned")


async def resend_reminder(page: Page) -> Response:
    """The reminder once more; the form's request id makes a double click one message."""
    reference = page.request.path_params["reference"]
    try:
        await page.office.call("ResendPickupReminder", pb.ResendPickupReminderRequest(
            request_id=page.field("request_id"), reference=reference))
    except ServiceError as error:
        return await order_page(page, problem=service_problem(page, error, {}),
                                status_code=failure_status(error))
    return page.redirect(f"/orders/{reference}?done=reminded")


def register(console: Console) -> None:
    console.add("/orders/{reference}/return", return_to_counter, needs=Permission.ORDERS_WRITE,
                methods=("POST",))
    console.add("/orders/{reference}/remind", resend_reminder, needs=Permission.ORDERS_WRITE,
                methods=("POST",))
    console.add("/orders/{reference}/extend", extend_deadline, needs=Permission.ORDERS_DEADLINE,
                methods=("POST",))
    console.add("/orders/new", new_order, needs=Permission.ORDERS_WRITE, methods=("GET", "POST"))
    console.add("/orders", find_orders, needs=Permission.ORDERS_READ)
    console.add("/orders/{reference}/letter", letter, needs=Permission.ORDERS_WRITE)
    console.add("/orders/{reference}/cancel", cancel_order, needs=Permission.ORDERS_WRITE,
                methods=("POST",))
    console.add("/orders/{reference}/reissue", reissue_code, needs=Permission.ORDERS_WRITE,
                methods=("POST",))
    console.add("/orders/{reference}", order_page, needs=Permission.ORDERS_READ)
    console.add("/orders/{reference}/live", order_live, needs=Permission.ORDERS_READ)
    console.nav("/orders/new", N_("New pickup order"), needs=Permission.ORDERS_WRITE,
                description=N_("Announce a document for the box;"
                               " print the letter for the citizen."))
    console.nav("/orders", N_("Find orders"), needs=Permission.ORDERS_READ,
                description=N_("By reference, state or kiosk; an order's history and actions."))
