"""The HTTP/JSON API's route table: one row per OfficeService method.

Each row says how an HTTP request becomes the method's protobuf request:
path parameters and (for GET) query parameters fill the fields of the same
name, and a POST body is the rest of the request message as JSON. Nothing
else happens here; the OfficeServicer applies the rules (registry/http_api/app.py
calls it), so the API and gRPC cannot disagree. The OpenAPI document
(registry/http_api/openapi.py) is generated from this table and the proto
descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import permissions

OFFICE = permissions.OFFICE_SERVICE
REPORTS = permissions.REPORTS_SERVICE


@dataclass(frozen=True)
class Endpoint:
    http_method: str  # GET or POST
    path: str  # below /api/v1; {name} binds the request field ``name``
    rpc: str  # the OfficeService method (or Reports pseudo-method) it calls
    summary: str
    # The HTTP statuses the method can answer besides 200, 400, 401 and 403
    # (which every method can): the OpenAPI document lists exactly these.
    errors: tuple[int, ...] = ()
    tag: str = "orders"
    # Body fields the method refuses to go without (proto3 has no "required";
    # the servicer's validation says so, the document repeats it).
    required: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """The full method name the permission table and the audit log use."""
        service = REPORTS if self.tag == "reports" else OFFICE
        return service + self.rpc

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(part[:part.index("}")] for part in self.path.split("{")[1:])

    @property
    def has_body(self) -> bool:
        return self.http_method == "POST"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/orders", "CreatePickupOrder",
             "Create a pickup order; the code, QR payload and PIN are returned exactly once",
             (404, 409), required=("kind",)),
    Endpoint("GET", "/orders", "ListPickupOrders", "List the office's pickup orders, page by page"),
    Endpoint("GET", "/orders/{reference}", "GetPickupOrder", "One pickup order", (404,)),
    Endpoint("POST", "/orders/{reference}:cancel", "CancelPickupOrder",
             "Cancel an announced or deposited order", (404, 409)),
    Endpoint("POST", "/orders/{reference}:reissue", "ReissuePickupCode",
             "A new code and PIN for an open order; the old ones stop working", (404, 409)),
    Endpoint("POST", "/orders/{reference}:extend", "ExtendPickupDeadline",
             "A later pickup deadline for a document in the box (supervisors)", (404, 409),
             required=("pickup_deadline",)),
    Endpoint("POST", "/orders/{reference}:returnToCounter", "MarkReturnedToCounter",
             "The citizen gets the document at the counter: ends the order everywhere"
             " (not while the document is still in the box)", (404, 409)),
    Endpoint("POST", "/orders/{reference}:resendReminder", "ResendPickupReminder",
             "Send the pickup reminder of a document in the box again", (404, 409)),
    Endpoint("GET", "/orders/{reference}/messages", "ListOrderMessages",
             "The messages sent to the citizen for an order, with their delivery status"
             " (never text, code or recipient)", (404,)),
    Endpoint("GET", "/kiosks", "ListKiosks", "The office's kiosks with status and compartments",
             tag="kiosks"),
    Endpoint("POST", "/kiosks/{kiosk_id}/commands", "SendKioskCommand",
             "Queue a remote command (resync, out of / in service, open a compartment)",
             (404,), tag="kiosks", required=("command",)),
    Endpoint("GET", "/kiosks/{kiosk_id}/events", "ListKioskEvents",
             "The events and alarms a kiosk reported, oldest first", (404,), tag="kiosks"),
    Endpoint("POST", "/staff", "CreateStaffMember", "Register a staff member's card and PIN",
             (409,), tag="staff", required=("staff_id", "card_uid", "pin")),
    Endpoint("GET", "/staff", "ListStaffMembers", "The office's staff members", tag="staff"),
    Endpoint("POST", "/staff/{staff_id}:deactivate", "DeactivateStaffMember",
             "Deactivate a staff member; the card stops working at every kiosk", (404,),
             tag="staff"),
    Endpoint("POST", "/staff/{staff_id}:unlockCard", "UnlockStaffCard",
             "Unlock a staff card the kiosks locked after wrong PINs (supervisors, admins)",
             (404, 409), tag="staff"),
    Endpoint("GET", "/alarms", "ListAlarms",
             "The office's alarms, newest first: open ones, or all of the last days",
             tag="alarms"),
    Endpoint("POST", "/alarms/{alarm_id}:acknowledge", "AcknowledgeAlarm",
             "Acknowledge an open alarm with a comment (audited); refused if acknowledged"
             " already", (404, 409), tag="alarms", required=("comment",)),
)

# Conflicts (ALREADY_EXISTS, ABORTED, a FAILED_PRECONDITION about the
# resource's state) are 409; see registry/http_api/errors.py.
