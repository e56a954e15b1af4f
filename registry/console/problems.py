"""A registry refusal as a clerk reads it: next to the field it names, or in words.

``service_problem`` turns a :class:`ServiceError` into either an entry in the
form's ``errors`` (an INVALID_ARGUMENT naming a request field the form has)
or a translated sentence for the page; ``failure_status`` picks the HTTP
status that page is served with.
"""

from __future__ import annotations

import grpc

from registry import errors as reasons
from registry import permissions
from registry.console.app import Page
from registry.console.calls import ServiceError
from registry.console.texts import N_

# Request fields the registry names in INVALID_ARGUMENT, and the form field they come from.
FORM_FIELD = {"kind": "kind", "size": "size", "pin": "pin", "reference": "reference",
              "kiosk_id": "kiosk", "contact": "contact", "reason": "reason",
              "staff_id": "staff_id", "card_uid": "card_uid"}


def service_problem(page: Page, error: ServiceError, errors: dict[str, str],
                    fields: dict[str, str] = FORM_FIELD) -> str:
    """Puts a registry refusal next to its field; returns a message for the page otherwise."""
    _ = page._
    if error.reason == reasons.INVALID_ARGUMENT and error.field:
        name = fields.get(error.field.split(".")[0].split("[")[0])
        if name is not None:
            errors[name] = _("The registry refused this value: {message}",
                             message=error.message.split(": ", 1)[-1])
            return ""
    known = {
        reasons.ORDER_NOT_FOUND: N_("There is no order with this reference in your office."),
        reasons.ORDER_EXISTS: N_("An order with this reference exists already."),
        reasons.ORDER_NOT_CANCELLABLE: N_("This order can no longer be cancelled: only orders"
                                          " that are announced or in the box can."),
        reasons.ORDER_NOT_REISSUABLE: N_("This order gets no new code: only orders that are"
                                         " announced or in the box do."),
        reasons.KIOSK_NOT_FOUND: N_("This kiosk is not enrolled in your office."),
        permissions.ROLE_MISSING: N_("Your account lacks the right for this."),
        permissions.OTHER_OFFICE: N_("This belongs to another office."),
    }
    if error.reason in known:
        return _(known[error.reason])
    return _("The registry could not do this: {message}", message=error.message)


def failure_status(error: ServiceError) -> int:
    return {grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
            grpc.StatusCode.INVALID_ARGUMENT: 422}.get(error.code, 409)
