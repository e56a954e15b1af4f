"""The rules of user administration (registry/identity.py), which the console's
users page and `kiosk-registry user ...` both apply: the pure checks called
directly, the changes on a real registry database."""

from __future__ import annotations

import json

import pytest

from registry import identity
from registry.database import DEFAULT_OFFICE, RegistryDatabase
from registry.identity import UserRuleError
from registry.permissions import Principal, Role

OPERATOR = Principal("user", "olga", "p-olga", None, frozenset({Role.ADMIN}))
OFFICE_ADMIN = Principal("user", "adam", "p-adam", DEFAULT_OFFICE, frozenset({Role.ADMIN}))
SUPERVISOR = Principal("user", "sven", "p-sven", DEFAULT_OFFICE,
                       frozenset({Role.SUPERVISOR, Role.CLERK}))
ALL = frozenset(Role)


def refusal(check, *args) -> str:
    with pytest.raises(UserRuleError) as raised:
        check(*args)
    return raised.value.code


def test_ranks_put_the_operator_above_an_office_admin_above_a_supervisor():
    assert identity.rank(OPERATOR) > identity.rank(OFFICE_ADMIN) > identity.rank(SUPERVISOR)
    assert identity.rank(identity.local_operator("root")) == identity.OPERATOR_RANK
    assert identity.rank(Principal("user", "x", office_id="o")) == 0


def test_an_office_admin_grants_any_role_of_their_office_but_not_beyond_it():
    for role in Role:
        identity.check_grant(OFFICE_ADMIN, DEFAULT_OFFICE, frozenset({role}))
    assert refusal(identity.check_grant, OFFICE_ADMIN, "nord", frozenset({Role.CLERK})) \
        == "OTHER_OFFICE"
    assert refusal(identity.check_grant, OFFICE_ADMIN, None, frozenset({Role.ADMIN})) \
        == "OPERATOR_ONLY"
    identity.check_grant(OPERATOR, None, frozenset({Role.ADMIN}))
    identity.check_grant(OPERATOR, "nord", ALL)


def test_only_admins_manage_users():
    assert refusal(identity.check_grant, SUPERVISOR, DEFAULT_OFFICE, frozenset({Role.CLERK})) \
        == "ROLE_MISSING"
    assert refusal(identity.check_manages, SUPERVISOR, DEFAULT_OFFICE) == "ROLE_MISSING"


def test_scope_and_empty_roles_are_refused_with_their_field():
    with pytest.raises(UserRuleError) as raised:
        identity.check_grant(OPERATOR, None, frozenset({Role.CLERK}))
    assert (raised.value.code, raised.value.field) == ("NO_OFFICE", "office")
    with pytest.raises(UserRuleError) as raised:
        identity.check_grant(OFFICE_ADMIN, DEFAULT_OFFICE, frozenset())
    assert (raised.value.code, raised.value.field) == ("ROLES_MISSING", "roles")
    assert refusal(identity.check_user_name, "") == "NAME_MISSING"
    for bad in ("with space", "x" * 65, "ümlaut", "a/b"):
        assert refusal(identity.check_user_name, bad) == "NAME_INVALID"
    identity.check_user_name("anna.m-2@bb")


def test_an_admin_cannot_take_their_own_last_admin_right():
    assert refusal(identity.check_not_locked_out, OFFICE_ADMIN, OFFICE_ADMIN,
                   frozenset({Role.CLERK}), 0) == "LAST_ADMIN"
    assert refusal(identity.check_not_locked_out, OFFICE_ADMIN, OFFICE_ADMIN, frozenset(), 0) \
        == "LAST_ADMIN"
    identity.check_not_locked_out(OFFICE_ADMIN, OFFICE_ADMIN, frozenset({Role.CLERK}), 1)
    identity.check_not_locked_out(OFFICE_ADMIN, OFFICE_ADMIN, frozenset({Role.ADMIN}), 0)
    other = Principal("user", "anne", "p-anne", DEFAULT_OFFICE, frozenset({Role.ADMIN}))
    identity.check_not_locked_out(OFFICE_ADMIN, other, frozenset(), 0)


def test_initial_passwords_are_long_random_and_unambiguous():
    passwords = {identity.new_initial_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) >= identity.MIN_PASSWORD_LENGTH
        assert not set(password) & set("0O1lI")


@pytest.fixture
def db(open_database) -> RegistryDatabase:
    database = open_database()  # SQLite, and PostgreSQL too (tests/registry/conftest.py)
    with database.transaction() as tx:
        tx.add_office("nord", "Nord")
    return database


def test_the_changes_apply_the_rules_and_write_the_audit(db):
    with db.transaction() as tx:
        adam_id, _pw = identity.add_user(tx, OPERATOR, "adam", DEFAULT_OFFICE,
                                         frozenset({Role.ADMIN}), "a long password 1")
    adam = Principal("user", "adam", adam_id, DEFAULT_OFFICE, frozenset({Role.ADMIN}))
    with db.transaction() as tx:
        carla_id, password = identity.add_user(tx, adam, "carla", DEFAULT_OFFICE,
                                               frozenset({Role.CLERK}))
        identity.change_roles(tx, adam, "carla", frozenset({Role.CLERK, Role.SUPERVISOR}))
        identity.deactivate_user(tx, adam, "carla")
        assert refusal(identity.deactivate_user, tx, adam, "carla") == "ALREADY"
        identity.reactivate_user(tx, adam, "carla")
        identity.reset_password(tx, adam, "carla")
        identity.add_user(tx, OPERATOR, "nora", "nord", frozenset({Role.CLERK}))
        assert refusal(identity.deactivate_user, tx, adam, "nora") == "OTHER_OFFICE"
        assert refusal(identity.add_user, tx, adam, "carla", DEFAULT_OFFICE,
                       frozenset({Role.CLERK})) == "NAME_TAKEN"
        assert refusal(identity.add_user, tx, OPERATOR, "x", "nowhere",
                       frozenset({Role.CLERK})) == "OFFICE_UNKNOWN"
        assert refusal(identity.change_roles, tx, adam, "adam", frozenset({Role.CLERK})) \
            == "LAST_ADMIN"
        row = tx.user_by_name("carla")
        assert refusal(identity.change_roles, tx, adam, "carla", frozenset({Role.CLERK}),
                       "not-what-the-form-showed") == "STALE"
        identity.change_roles(tx, adam, "carla", frozenset({Role.CLERK}),
                              identity.user_state(row))
        tx.record_sign_in(carla_id)  # what the console's sign-in writes
        users = [(user.name, user.active, user.last_signin is not None)
                 for user in identity.list_users(tx, adam)]
        entries = [(e.actor, e.action, e.target) for e in tx.audit_entries()]
    assert len(password) >= identity.MIN_PASSWORD_LENGTH
    assert users == [("adam", True, False), ("carla", True, True)]  # nora: another office's
    assert entries == [
        ("user:olga", "user.created", "adam"),
        ("user:adam", "user.created", "carla"),
        ("user:adam", "user.roles_changed", "carla"),
        ("user:adam", "user.revoked", "carla"),
        ("user:adam", "user.reactivated", "carla"),
        ("user:adam", "user.password_reset", "carla"),
        ("user:olga", "user.created", "nora"),
        ("user:adam", "user.roles_changed", "carla"),
    ]
    with db.transaction() as tx:
        detail = json.loads(tx.audit_entries()[2].detail)
    assert detail == {"previous": "clerk", "roles": "clerk,supervisor"}


def test_a_new_password_is_long_enough_typed_twice_and_not_the_current_one():
    def codes(current, new, again):
        return [(p.code, p.field) for p in identity.new_password_problems(current, new, again)]

    good = "a new long password"
    assert codes("old initial pw", good, good) == []
    assert codes("old initial pw", "", "") == [("NEW_PASSWORD_MISSING", "new_password")]
    short = "x" * (identity.MIN_PASSWORD_LENGTH - 1)
    assert codes("old initial pw", short, short) == [("PASSWORD_SHORT", "new_password")]
    assert codes("old initial pw", short + "x", short + "x") == []  # exactly the minimum
    assert codes(good, good, good) == [("PASSWORD_REUSED", "new_password")]
    assert codes("old initial pw", good, good + " ") == [
        ("PASSWORD_MISMATCH", "new_password_again")]
    assert codes(good, good, "other") == [("PASSWORD_REUSED", "new_password"),
                                          ("PASSWORD_MISMATCH", "new_password_again")]


def test_an_administrators_password_must_be_replaced_unless_final():
    assert identity.password_must_change(None, final=False)
    assert identity.password_must_change(None, final=True)  # a generated one always
    assert identity.password_must_change("typed by the operator", final=False)
    assert not identity.password_must_change("typed by the operator", final=True)


def test_issued_passwords_carry_the_demand_which_the_users_own_change_clears(db):
    def required(name: str) -> bool:
        with db.transaction() as tx:
            return bool(tx.user_by_name(name)["password_change_required"])

    with db.transaction() as tx:
        carla_id, initial = identity.add_user(tx, OPERATOR, "carla", DEFAULT_OFFICE,
                                              frozenset({Role.CLERK}))
        identity.add_user(tx, OPERATOR, "own", DEFAULT_OFFICE, frozenset({Role.CLERK}),
                          "the users own password", final=True)
        identity.create_user(tx, "plain", "a long password 2", DEFAULT_OFFICE,
                             frozenset({Role.CLERK}))
    assert required("carla") and not required("own") and not required("plain")
    carla = Principal("user", "carla", carla_id, DEFAULT_OFFICE, frozenset({Role.CLERK}))
    authenticator = identity.Authenticator(db)
    _principal, row = authenticator.verify_password("carla", initial)
    with db.transaction() as tx:
        assert refusal(identity.change_own_password, tx, carla, initial, initial, initial,
                       row["secret_hash"]) == "PASSWORD_REUSED"
        assert refusal(identity.change_own_password, tx, carla, initial, "carlas own one",
                       "carlas own one", b"what another form saw") == "STALE"
        identity.change_own_password(tx, carla, initial, "carlas own one", "carlas own one",
                                     row["secret_hash"])
    assert not required("carla")
    authenticator.verify_password("carla", "carlas own one")
    with pytest.raises(identity.AuthError):
        authenticator.verify_password("carla", initial)
    with db.transaction() as tx:
        identity.reset_password(tx, OPERATOR, "carla", "typed by the operator")
    assert required("carla")
    with db.transaction() as tx:
        identity.reset_password(tx, OPERATOR, "carla", "typed by the operator", final=True)
        entries = [(e.actor, e.action, e.target, json.loads(e.detail))
                   for e in tx.audit_entries() if e.action.startswith("user.password")]
    assert not required("carla")
    assert entries == [
        ("user:carla", "user.password_changed", "carla", {"was_required": True}),
        ("user:olga", "user.password_reset", "carla", {"change_required": True}),
        ("user:olga", "user.password_reset", "carla", {"change_required": False}),
    ]
