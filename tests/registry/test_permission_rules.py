"""Who may call what (registry/permissions.py), called directly.

The role table is pinned as data: a right added to or taken from a role is
a decision to make on purpose, so it must show up as a failing test here.
"""

from __future__ import annotations

import dataclasses

import pytest

from registry import permissions
from registry.permissions import (
    KIOSK_SERVICE,
    OFFICE_SERVICE,
    Decision,
    Permission,
    Principal,
    Role,
    check_command,
    check_kiosk,
    check_office,
    check_permission,
    command_permission,
    decide,
    required_permission,
)
from pickupbox.registry.v1 import registry_pb2 as pb

P = Permission
CLERK_RIGHTS = {P.ORDERS_READ, P.ORDERS_WRITE, P.KIOSKS_READ}
EXPECTED_ROLES = {
    Role.CLERK: CLERK_RIGHTS,
    Role.SUPERVISOR: CLERK_RIGHTS | {P.COMMAND_RESYNC, P.COMMAND_SERVICE, P.COMMAND_OPEN,
                                     P.STAFF_READ, P.STAFF_MANAGE, P.EVENTS_READ,
                                     P.REPORTS_READ, P.ORDERS_DEADLINE, P.ALARMS_ACKNOWLEDGE,
                                     P.STAFF_UNLOCK},
    Role.TECHNICIAN: {P.KIOSKS_READ, P.COMMAND_RESYNC, P.COMMAND_SERVICE, P.EVENTS_READ,
                      P.ALARMS_ACKNOWLEDGE},
    Role.AUDITOR: {P.AUDIT_READ, P.EVENTS_READ, P.REPORTS_READ},
    Role.INTEGRATION: CLERK_RIGHTS,
    Role.ADMIN: {P.OFFICES_MANAGE, P.KIOSKS_MANAGE, P.KIOSKS_READ, P.COMMAND_RESYNC,
                 P.EVENTS_READ, P.USERS_MANAGE, P.STAFF_UNLOCK},
}
EXPECTED_RPCS = {
    **{KIOSK_SERVICE + name: P.KIOSK_SELF
       for name in ("RegisterKiosk", "Heartbeat", "SyncChanges", "ReportEvents",
                    "StreamCommands", "AcknowledgeCommands", "ReportAuditEntries")},
    OFFICE_SERVICE + "CreatePickupOrder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "CancelPickupOrder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ReissuePickupCode": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ExtendPickupDeadline": P.ORDERS_DEADLINE,
    OFFICE_SERVICE + "MarkReturnedToCounter": P.ORDERS_WRITE,
    OFFICE_SERVICE + "ResendPickupReminder": P.ORDERS_WRITE,
    OFFICE_SERVICE + "GetPickupOrder": P.ORDERS_READ,
    OFFICE_SERVICE + "ListPickupOrders": P.ORDERS_READ,
    OFFICE_SERVICE + "ListOrderMessages": P.ORDERS_READ,
    OFFICE_SERVICE + "ListKiosks": P.KIOSKS_READ,
    OFFICE_SERVICE + "SendKioskCommand": P.COMMAND_RESYNC,
    OFFICE_SERVICE + "CreateStaffMember": P.STAFF_MANAGE,
    OFFICE_SERVICE + "ListStaffMembers": P.STAFF_READ,
    OFFICE_SERVICE + "DeactivateStaffMember": P.STAFF_MANAGE,
    OFFICE_SERVICE + "UnlockStaffCard": P.STAFF_UNLOCK,
    OFFICE_SERVICE + "ListKioskEvents": P.EVENTS_READ,
    OFFICE_SERVICE + "ListAlarms": P.EVENTS_READ,
    OFFICE_SERVICE + "AcknowledgeAlarm": P.ALARMS_ACKNOWLEDGE,
}


def user(*roles: Role, office: str | None = "north", name: str = "anna") -> Principal:
    return Principal("user", name, office_id=office, roles=frozenset(roles))


KIOSK_A = Principal("kiosk", "kiosk-a", office_id="north", kiosk_id="kiosk-a")
OPERATOR = Principal("api_key", "ops", roles=frozenset({Role.ADMIN}))


def refused(decision: Decision, reason: str) -> Decision:
    assert decision.allowed is False
    assert decision.reason == reason
    return decision


def allowed(decision: Decision) -> None:
    assert decision == Decision(True)


# --- the tables


def test_the_role_table_grants_exactly_these_rights():
    assert {role: set(rights) for role, rights in permissions.ROLE_PERMISSIONS.items()} \
        == EXPECTED_ROLES
    assert all(isinstance(rights, frozenset) for rights in permissions.ROLE_PERMISSIONS.values())


@pytest.mark.parametrize("role", list(Role))
def test_a_principal_with_one_role_has_that_roles_rights(role):
    assert user(role).permissions == frozenset(EXPECTED_ROLES[role])


def test_rights_of_several_roles_add_up():
    both = user(Role.TECHNICIAN, Role.AUDITOR)
    assert both.permissions == frozenset(EXPECTED_ROLES[Role.TECHNICIAN]
                                         | EXPECTED_ROLES[Role.AUDITOR])
    everything = user(*Role)
    assert everything.permissions == frozenset(set().union(*EXPECTED_ROLES.values()))


def test_no_role_no_rights_and_a_kiosk_only_acts_as_itself():
    assert user().permissions == frozenset()
    assert KIOSK_A.permissions == frozenset({P.KIOSK_SELF})
    # Roles on a kiosk principal give it nothing more.
    kiosk_with_roles = dataclasses.replace(KIOSK_A, roles=frozenset({Role.ADMIN}))
    assert kiosk_with_roles.permissions == frozenset({P.KIOSK_SELF})


def test_no_role_grants_the_kiosk_or_public_rights():
    for rights in permissions.ROLE_PERMISSIONS.values():
        assert P.KIOSK_SELF not in rights and P.PUBLIC not in rights


def test_every_rpc_needs_exactly_this_right():
    assert permissions.RPC_PERMISSIONS == EXPECTED_RPCS
    for method, needed in EXPECTED_RPCS.items():
        assert required_permission(method) is needed


@pytest.mark.parametrize("method", [
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
])
def test_health_and_reflection_are_public(method):
    assert required_permission(method) is P.PUBLIC
    allowed(decide(method, None))
    allowed(decide(method, KIOSK_A))
    allowed(decide(method, user()))


@pytest.mark.parametrize("method", [
    OFFICE_SERVICE + "NoSuchMethod", KIOSK_SERVICE + "Nothing", "/other.Service/Call",
    "", "/grpc.healthy/Check", "grpc.health.v1.Health/Check",
])
def test_an_unknown_method_is_refused_for_everyone(method):
    assert required_permission(method) is None
    for principal in (None, KIOSK_A, OPERATOR, user(*Role)):
        decision = refused(decide(method, principal), "UNKNOWN_METHOD")
        assert decision.message == f"{method} is not a registry method"
        assert decision.needed is None


@pytest.mark.parametrize("command, needed", [
    (pb.COMMAND_TYPE_OPEN_COMPARTMENT, P.COMMAND_OPEN),
    (pb.COMMAND_TYPE_SET_OUT_OF_SERVICE, P.COMMAND_SERVICE),
    (pb.COMMAND_TYPE_SET_IN_SERVICE, P.COMMAND_SERVICE),
    (pb.COMMAND_TYPE_RESYNC, P.COMMAND_RESYNC),
    (pb.COMMAND_TYPE_UNSPECIFIED, P.COMMAND_OPEN),
    (999, P.COMMAND_OPEN),
])
def test_the_command_type_decides_the_right_and_unknown_ones_need_the_strongest(command, needed):
    assert command_permission(command) is needed


# --- decide


def test_nobody_authenticated_is_told_which_credential_the_service_takes():
    method = KIOSK_SERVICE + "SyncChanges"
    decision = refused(decide(method, None), "UNAUTHENTICATED")
    assert decision.message == f"{method} needs a kiosk certificate or kiosk credential"
    assert decision.needed is P.KIOSK_SELF
    method = OFFICE_SERVICE + "ListKiosks"
    decision = refused(decide(method, None), "UNAUTHENTICATED")
    assert decision.message == (
        f"{method} needs an API key (authorization: Bearer ...) or a user name and password")
    assert decision.needed is P.KIOSKS_READ


def test_only_kiosks_call_the_kiosk_service():
    for principal in (user(*Role), OPERATOR, Principal("api_key", "k", office_id="north",
                                                       roles=frozenset({Role.INTEGRATION}))):
        decision = refused(decide(KIOSK_SERVICE + "Heartbeat", principal), "KIOSK_ONLY")
        assert decision.message == "only kiosks call the KioskService"
        assert decision.needed is P.KIOSK_SELF
    allowed(decide(KIOSK_SERVICE + "Heartbeat", KIOSK_A))


def test_kiosks_never_call_the_office_service():
    for name in ("ListKiosks", "CreatePickupOrder", "SendKioskCommand"):
        decision = refused(decide(OFFICE_SERVICE + name, KIOSK_A), "OFFICE_ONLY")
        assert decision.message == (
            "kiosk kiosk-a may not call the OfficeService; use an office credential")
        assert decision.needed is EXPECTED_RPCS[OFFICE_SERVICE + name]


@pytest.mark.parametrize("method", [m for m in EXPECTED_RPCS if m.startswith(OFFICE_SERVICE)])
@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_call_exactly_the_office_methods_its_rights_cover(method, role):
    decision = decide(method, user(role))
    if EXPECTED_RPCS[method] in EXPECTED_ROLES[role]:
        allowed(decision)
    else:
        refused(decision, "ROLE_MISSING")
        assert decision.needed is EXPECTED_RPCS[method]


def test_a_missing_right_names_the_caller_its_roles_and_who_has_the_right():
    decision = refused(decide(OFFICE_SERVICE + "CreateStaffMember",
                              user(Role.TECHNICIAN, Role.CLERK, name="tim")), "ROLE_MISSING")
    assert decision.message == (
        "user:tim (roles: clerk, technician) lacks the right staff.manage;"
        " ask an administrator for one of the roles supervisor")
    assert decision.needed is P.STAFF_MANAGE


def test_a_caller_without_roles_is_told_it_has_none():
    decision = refused(decide(OFFICE_SERVICE + "ListKiosks", user(name="nora")), "ROLE_MISSING")
    assert decision.message == (
        "user:nora (roles: none) lacks the right kiosks.read;"
        " ask an administrator for one of the roles admin, clerk, integration, supervisor,"
        " technician")


# --- the checks servicers make on the data a call touches


def test_check_permission():
    allowed(check_permission(user(Role.AUDITOR), P.AUDIT_READ))
    decision = refused(check_permission(user(Role.CLERK, name="cle"), P.AUDIT_READ),
                       "ROLE_MISSING")
    assert decision.message == (
        "user:cle (roles: clerk) lacks the right audit.read;"
        " ask an administrator for one of the roles auditor")
    assert decision.needed is P.AUDIT_READ
    refused(check_permission(KIOSK_A, P.ORDERS_READ), "ROLE_MISSING")
    allowed(check_permission(KIOSK_A, P.KIOSK_SELF))


def test_a_kiosk_acts_only_as_itself():
    allowed(check_kiosk(KIOSK_A, "kiosk-a"))
    decision = refused(check_kiosk(KIOSK_A, "kiosk-b"), "KIOSK_ID_MISMATCH")
    assert decision.message == "this credential belongs to kiosk kiosk-a, not kiosk-b"


def test_an_office_caller_never_passes_the_kiosk_check():
    # Even one whose name is the kiosk id.
    impostor = Principal("user", "kiosk-a", office_id="north", roles=frozenset(Role),
                         kiosk_id="kiosk-a")
    refused(check_kiosk(impostor, "kiosk-a"), "KIOSK_ID_MISMATCH")
    decision = refused(check_kiosk(user(name="anna"), "kiosk-a"), "KIOSK_ID_MISMATCH")
    assert decision.message == "this credential belongs to kiosk anna, not kiosk-a"


def test_offices_see_only_themselves_and_the_operator_sees_all():
    north = user(Role.SUPERVISOR, name="sam")
    assert north.may_see_office("north")
    assert not north.may_see_office("south")
    assert not north.may_see_office("")
    allowed(check_office(north, "north"))
    decision = refused(check_office(north, "south"), "OTHER_OFFICE")
    assert decision.message == "user:sam belongs to another office"
    for office in ("north", "south", ""):
        assert OPERATOR.may_see_office(office)
        allowed(check_office(OPERATOR, office))
    # An empty office id is an office of its own, not the operator.
    empty = user(Role.CLERK, office="")
    assert empty.may_see_office("")
    assert not empty.may_see_office("north")


def test_remote_opening_needs_the_right_and_a_reason():
    supervisor = user(Role.SUPERVISOR)
    open_ = pb.COMMAND_TYPE_OPEN_COMPARTMENT
    allowed(check_command(supervisor, open_, "jammed door"))
    for blank in ("", " ", "\t\n"):
        decision = refused(check_command(supervisor, open_, blank), "REASON_REQUIRED")
        assert decision.message == (
            "opening a compartment remotely needs a reason (command.reason), which is audited")
    # Without the right, the missing right is what the caller hears first.
    decision = refused(check_command(user(Role.TECHNICIAN, name="tim"), open_, ""),
                       "ROLE_MISSING")
    assert decision.needed is P.COMMAND_OPEN


def test_other_commands_need_no_reason():
    technician = user(Role.TECHNICIAN)
    for command in (pb.COMMAND_TYPE_SET_OUT_OF_SERVICE, pb.COMMAND_TYPE_SET_IN_SERVICE,
                    pb.COMMAND_TYPE_RESYNC):
        allowed(check_command(technician, command, ""))
    allowed(check_command(OPERATOR, pb.COMMAND_TYPE_RESYNC, ""))
    refused(check_command(OPERATOR, pb.COMMAND_TYPE_SET_OUT_OF_SERVICE, "x"), "ROLE_MISSING")
    refused(check_command(user(Role.CLERK), pb.COMMAND_TYPE_RESYNC, "x"), "ROLE_MISSING")
    # An unknown command type needs the opening right (validation refuses it later).
    refused(check_command(technician, 999, "why"), "ROLE_MISSING")
    allowed(check_command(user(Role.SUPERVISOR), 999, ""))


# --- the value objects


def test_principal_label_and_defaults():
    principal = Principal("api_key", "fachverfahren")
    assert principal.label == "api_key:fachverfahren"
    assert (principal.principal_id, principal.office_id, principal.roles, principal.kiosk_id) \
        == ("", None, frozenset(), "")
    assert Decision(False) == Decision(False, "", "", None)


def test_principals_and_decisions_cannot_be_changed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        KIOSK_A.kiosk_id = "kiosk-b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Decision(False).allowed = True  # type: ignore[misc]


def test_the_refusal_reasons_are_the_ones_registry_proto_lists():
    reasons = {"UNAUTHENTICATED", "CREDENTIAL_INVALID", "CREDENTIAL_REVOKED",
               "CREDENTIAL_EXPIRED", "TOO_MANY_FAILURES", "CERTIFICATE_NOT_ENROLLED",
               "CREDENTIAL_MISMATCH", "ROLE_MISSING", "KIOSK_ONLY", "OFFICE_ONLY",
               "KIOSK_ID_MISMATCH", "OTHER_OFFICE", "REASON_REQUIRED", "UNKNOWN_METHOD",
               "PASSWORD_CHANGE_REQUIRED"}
    assert {name: getattr(permissions, name) for name in reasons} == {r: r for r in reasons}


# --- found by mutation testing


def runtime(text: str) -> str:
    """`text` as a new string object, as the registry reads it from its database.

    Literals in a test are interned, so `is` would pass where `==` is meant.
    """
    return "".join(list(text))


def test_principals_read_from_storage_are_compared_by_value():
    kiosk = Principal(runtime("kiosk"), runtime("kiosk-a"), office_id=runtime("north"),
                      kiosk_id=runtime("kiosk-a"))
    assert kiosk.kind == "kiosk" and id(kiosk.kind) != id("kiosk")
    assert kiosk.permissions == frozenset({P.KIOSK_SELF})
    allowed(decide(KIOSK_SERVICE + "Heartbeat", kiosk))
    refused(decide(OFFICE_SERVICE + "ListKiosks", kiosk), "OFFICE_ONLY")
    allowed(check_kiosk(kiosk, runtime("kiosk-a")))
    clerk = Principal(runtime("user"), "cle", office_id=runtime("north"),
                      roles=frozenset({Role.CLERK}))
    allowed(check_office(clerk, runtime("north")))
    refused(decide(KIOSK_SERVICE + "Heartbeat", clerk), "KIOSK_ONLY")


def test_an_api_key_is_an_office_caller():
    # "api_key" sorts before "kiosk": only the exact kind makes a kiosk.
    key = Principal("api_key", "fachverfahren", office_id="north",
                    roles=frozenset({Role.INTEGRATION}), kiosk_id="kiosk-a")
    allowed(decide(OFFICE_SERVICE + "CreatePickupOrder", key))
    refused(decide(KIOSK_SERVICE + "Heartbeat", key), "KIOSK_ONLY")
    refused(check_kiosk(key, "kiosk-a"), "KIOSK_ID_MISMATCH")
    assert key.permissions == frozenset(CLERK_RIGHTS)


def test_a_kiosk_may_not_act_as_a_kiosk_whose_id_sorts_before_its_own():
    refused(check_kiosk(KIOSK_A, "kiosk-0"), "KIOSK_ID_MISMATCH")
    refused(check_kiosk(KIOSK_A, "kiosk-"), "KIOSK_ID_MISMATCH")


@pytest.mark.parametrize("name", ["SendKioskCommand", "ListKioskEvents", "ListPickupOrders"])
def test_an_unauthenticated_office_call_is_told_to_bring_an_office_credential(name):
    decision = refused(decide(OFFICE_SERVICE + name, None), "UNAUTHENTICATED")
    assert "API key" in decision.message and "kiosk" not in decision.message


@pytest.mark.parametrize("role", list(Role))
def test_alarms_are_read_and_acknowledged_by_the_console_alarm_roles(role):
    """The same rights as the console's alarms page: reading needs events.read,
    acknowledging alarms.acknowledge (technicians and supervisors)."""
    who = user(role)
    reads = decide(OFFICE_SERVICE + "ListAlarms", who).allowed
    acknowledges = decide(OFFICE_SERVICE + "AcknowledgeAlarm", who).allowed
    assert reads == (role in (Role.SUPERVISOR, Role.TECHNICIAN, Role.AUDITOR, Role.ADMIN))
    assert acknowledges == (role in (Role.SUPERVISOR, Role.TECHNICIAN))


@pytest.mark.parametrize("role", list(Role))
def test_order_references_only_for_those_who_read_orders_or_audit(role):
    sees = permissions.may_see_order_references(user(role))
    assert sees == bool(EXPECTED_ROLES[role] & {P.ORDERS_READ, P.AUDIT_READ})
    assert sees == (role not in (Role.TECHNICIAN, Role.ADMIN))


def test_only_the_opening_command_needs_a_reason():
    supervisor = user(Role.SUPERVISOR)
    allowed(check_command(supervisor, pb.COMMAND_TYPE_UNSPECIFIED, ""))
    allowed(check_command(supervisor, pb.COMMAND_TYPE_RESYNC, ""))
