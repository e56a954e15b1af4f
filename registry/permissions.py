"""Who may call what: the one table every registry RPC is checked against.

The rules are pure functions so tests can call them directly; the server's
interceptor (registry/auth.py) applies them to every call before a servicer
method runs. A principal is either a kiosk (known by its client certificate
or its kiosk credential) or an office caller (a user or an API key) with one
or more roles in one office (tenant). An office caller without an office is
the operator: only the operator-admin role may have none, and it then spans
all offices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pickupbox.registry.v1 import registry_pb2 as pb

KIOSK_SERVICE = "/pickupbox.registry.v1.KioskService/"
OFFICE_SERVICE = "/pickupbox.registry.v1.OfficeService/"
HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIX = "/grpc.reflection."


class Permission(str, Enum):
    KIOSK_SELF = "kiosk.self"  # a kiosk acting as itself
    ORDERS_READ = "orders.read"
    ORDERS_WRITE = "orders.write"  # create, cancel, reissue
    ORDERS_DEADLINE = "orders.deadline"  # a later pickup deadline
    KIOSKS_READ = "kiosks.read"
    COMMAND_RESYNC = "commands.resync"
    COMMAND_SERVICE = "commands.service"  # out of / back in service
    COMMAND_OPEN = "commands.open"  # remote opening of a compartment
    STAFF_READ = "staff.read"
    STAFF_MANAGE = "staff.manage"
    STAFF_UNLOCK = "staff.unlock"  # lift a kiosk's lock of a card after wrong PINs
    AUDIT_READ = "audit.read"
    OFFICES_MANAGE = "offices.manage"
    KIOSKS_MANAGE = "kiosks.manage"
    EVENTS_READ = "events.read"  # a kiosk's reported events and alarms
    ALARMS_ACKNOWLEDGE = "alarms.acknowledge"  # the console's acknowledgement with a comment
    REPORTS_READ = "reports.read"  # aggregated figures (registry/reports.py), no references
    USERS_MANAGE = "users.manage"  # the console's users and roles (registry/identity.py's rules)
    PUBLIC = "public"  # health checks and reflection: no data


class Role(str, Enum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"
    INTEGRATION = "integration"
    ADMIN = "admin"  # the operator's admin: offices and kiosks


P = Permission
_CLERK = {P.ORDERS_READ, P.ORDERS_WRITE, P.KIOSKS_READ}
# A kiosk's events and alarms are read by those who look after it
# (technician), run it (supervisor, admin) or check it (auditor). Clerks work
# with orders and follow them through ListPickupOrders: refused here.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(_CLERK),
    Role.SUPERVISOR: frozenset(
        _CLERK | {P.COMMAND_RESYNC, P.COMMAND_SERVICE, P.COMMAND_OPEN, P.STAFF_READ, P.STAFF_MANAGE,
                  P.EVENTS_READ, P.ALARMS_ACKNOWLEDGE, P.REPORTS_READ, P.ORDERS_DEADLINE,
                  P.STAFF_UNLOCK}
    ),
    # Device health and service state, never an order's details.
    Role.TECHNICIAN: frozenset({P.KIOSKS_READ, P.COMMAND_RESYNC, P.COMMAND_SERVICE, P.EVENTS_READ,
                                P.ALARMS_ACKNOWLEDGE}),
    Role.AUDITOR: frozenset({P.AUDIT_READ, P.EVENTS_READ, P.REPORTS_READ}),
    Role.INTEGRATION: frozenset(_CLERK),
    # The operator's admin looks after the kiosks and sees their events, so it
    # may lift a card lock they report (the holder still needs the right PIN);
    # creating or removing staff stays with the office's supervisors.
    Role.ADMIN: frozenset(
        {P.OFFICES_MANAGE, P.KIOSKS_MANAGE, P.KIOSKS_READ, P.COMMAND_RESYNC, P.EVENTS_READ,
         P.USERS_MANAGE, P.STAFF_UNLOCK}
    ),
}

# Every RPC the registry serves, with the permission it needs. A method that
# is missing here is refused (deny by default), and a test checks that the
# table names every method of both services.
RPC_PERMISSIONS: dict[str, Permission] = {
    **{
        KIOSK_SERVICE + name: P.KIOSK_SELF
        for name in (
            "RegisterKiosk", "Heartbeat", "SyncChanges", "ReportEvents", "StreamCommands",
            "AcknowledgeCommands", "ReportAuditEntries",
        )
    },
    OFFICE_SERVICE + "CreatePickupOrder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "CancelPickupOrder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ReissuePickupCode": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ExtendPickupDeadline": P.ORDERS_DEADLINE,
    # Clerks hand documents over at the counter and answer citizens who lost
    # the notice: the same right as cancelling.
    OFFICE_SERVICE + "MarkReturnedToCounter": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ResendPickupReminder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "GetPickupOrder": P.ORDERS_READ,
    OFFICE_SERVICE + "ListOrderMessages": P.ORDERS_READ,
    OFFICE_SERVICE + "ListPickupOrders": P.ORDERS_READ,
    OFFICE_SERVICE + "ListKiosks": P.KIOSKS_READ,
    # The command type decides the rest: see command_permission().
    OFFICE_SERVICE + "SendKioskCommand": P.COMMAND_RESYNC,
    OFFICE_SERVICE + "CreateStaffMember": P.STAFF_MANAGE,
    OFFICE_SERVICE + "ListStaffMembers": P.STAFF_READ,
    OFFICE_SERVICE + "DeactivateStaffMember": P.STAFF_MANAGE,
    OFFICE_SERVICE + "UnlockStaffCard": P.STAFF_UNLOCK,
    OFFICE_SERVICE + "ListKioskEvents": P.EVENTS_READ,
    # The console's alarms page and the HTTP API's alarms: the same rights.
    OFFICE_SERVICE + "ListAlarms": P.EVENTS_READ,
    OFFICE_SERVICE + "AcknowledgeAlarm": P.ALARMS_ACKNOWLEDGE,
}

# The office's report figures have no RPC; the HTTP API serves them
# (registry/http_api). They are named like methods so that one decide() and
# one audit format cover them too.
REPORTS_SERVICE = "/pickupbox.registry.v1.Reports/"
REPORT_PERMISSIONS: dict[str, Permission] = {
    REPORTS_SERVICE + "GetReport": P.REPORTS_READ,
    REPORTS_SERVICE + "GetOpenData": P.REPORTS_READ,
}

_COMMAND_PERMISSIONS = {
    pb.COMMAND_TYPE_OPEN_COMPARTMENT: P.COMMAND_OPEN,
    pb.COMMAND_TYPE_SET_OUT_OF_SERVICE: P.COMMAND_SERVICE,
    pb.COMMAND_TYPE_SET_IN_SERVICE: P.COMMAND_SERVICE,
    pb.COMMAND_TYPE_RESYNC: P.COMMAND_RESYNC,
}


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the registry has authenticated it."""

    kind: str  # "kiosk", "user", "api_key" or "client_cert"
    name: str  # kiosk id, user name or key name
    principal_id: str = ""
    office_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    kiosk_id: str = ""

    @property
    def label(self) -> str:
        """How audit entries and remote commands name this caller."""
        return f"{self.kind}:{self.name}"

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.kind == "kiosk":
            return frozenset({P.KIOSK_SELF})
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def may_see_office(self, office_id: str) -> bool:
        return self.office_id is None or self.office_id == office_id


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # the ErrorInfo reason of a refusal
    message: str = ""
    needed: Permission | None = None


# ErrorInfo reasons of refusals (listed in registry.proto).
UNAUTHENTICATED = "UNAUTHENTICATED"
CREDENTIAL_INVALID = "CREDENTIAL_INVALID"
CREDENTIAL_REVOKED = "CREDENTIAL_REVOKED"
CREDENTIAL_EXPIRED = "CREDENTIAL_EXPIRED"
TOO_MANY_FAILURES = "TOO_MANY_FAILURES"
# A password an administrator issued: valid for the first console sign-in only
# (the API answers it; the console lets the user choose their own).
PASSWORD_CHANGE_REQUIRED = "PASSWORD_CHANGE_REQUIRED"
CERTIFICATE_NOT_ENROLLED = "CERTIFICATE_NOT_ENROLLED"
CREDENTIAL_MISMATCH = "CREDENTIAL_MISMATCH"
ROLE_MISSING = "ROLE_MISSING"
KIOSK_ONLY = "KIOSK_ONLY"
OFFICE_ONLY = "OFFICE_ONLY"
KIOSK_ID_MISMATCH = "KIOSK_ID_MISMATCH"
OTHER_OFFICE = "OTHER_OFFICE"
REASON_REQUIRED = "REASON_REQUIRED"
UNKNOWN_METHOD = "UNKNOWN_METHOD"


def required_permission(method: str) -> Permission | None:
    if method.startswith(HEALTH_PREFIX) or method.startswith(REFLECTION_PREFIX):
        return P.PUBLIC
    return RPC_PERMISSIONS.get(method) or REPORT_PERMISSIONS.get(method)


def command_permission(command_type: int) -> Permission:
    # An unknown command type needs the strongest right; validation refuses it later.
    return _COMMAND_PERMISSIONS.get(command_type, P.COMMAND_OPEN)


def decide(method: str, principal: Principal | None) -> Decision:
    """May ``principal`` (None: nobody authenticated) call ``method`` at all?

    Tenant checks need the data a call touches and happen in the servicers
    through :func:`check_office`; the kiosk-id check through :func:`check_kiosk`.
    """
    needed = required_permission(method)
    if needed is None:
        return Decision(False, UNKNOWN_METHOD, f"{method} is not a registry method")
    if needed is P.PUBLIC:
        return Decision(True)
    if principal is None:
        who = "a kiosk certificate or kiosk credential" if needed is P.KIOSK_SELF else (
            "an API key (authorization: Bearer ...) or a user name and password"
        )
        return Decision(False, UNAUTHENTICATED, f"{method} needs {who}", needed)
    if needed is P.KIOSK_SELF and principal.kind != "kiosk":
        return Decision(False, KIOSK_ONLY, "only kiosks call the KioskService", needed)
    if needed is not P.KIOSK_SELF and principal.kind == "kiosk":
        return Decision(
            False, OFFICE_ONLY,
            f"kiosk {principal.name} may not call the OfficeService; use an office credential",
            needed,
        )
    if needed not in principal.permissions:
        return permission_missing(principal, needed)
    return Decision(True)


def permission_missing(principal: Principal, needed: Permission) -> Decision:
    roles = ", ".join(sorted(r.value for r in principal.roles)) or "none"
    holders = ", ".join(sorted(r.value for r, granted in ROLE_PERMISSIONS.items() if needed in granted))
    return Decision(
        False, ROLE_MISSING,
        f"{principal.label} (roles: {roles}) lacks the right {needed.value};"
        f" ask an administrator for one of the roles {holders}",
        needed,
    )


def check_permission(principal: Principal, needed: Permission) -> Decision:
    if needed in principal.permissions:
        return Decision(True)
    return permission_missing(principal, needed)


def may_see_order_references(principal: Principal) -> bool:
    """Events and alarms name an order only for those who may read orders or
    audit: a technician or the operator's admin sees what happened where, not
    to whose order."""
    return bool(principal.permissions & {P.ORDERS_READ, P.AUDIT_READ})


def check_kiosk(principal: Principal, kiosk_id: str) -> Decision:
    """A kiosk acts only as itself."""
    if principal.kind == "kiosk" and principal.kiosk_id == kiosk_id:
        return Decision(True)
    return Decision(
        False, KIOSK_ID_MISMATCH,
        f"this credential belongs to kiosk {principal.kiosk_id or principal.name}, not {kiosk_id}",
    )


def check_office(principal: Principal, office_id: str) -> Decision:
    if principal.may_see_office(office_id):
        return Decision(True)
    return Decision(False, OTHER_OFFICE, f"{principal.label} belongs to another office")


def check_command(principal: Principal, command_type: int, reason: str) -> Decision:
    """Remote opening needs the supervisor's right and a stated reason."""
    decision = check_permission(principal, command_permission(command_type))
    if not decision.allowed:
        return decision
    if command_type == pb.COMMAND_TYPE_OPEN_COMPARTMENT and not reason.strip():
        return Decision(
            False, REASON_REQUIRED,
            "opening a compartment remotely needs a reason (command.reason), which is audited",
        )
    return Decision(True)
