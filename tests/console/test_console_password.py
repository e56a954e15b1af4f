"""One's own password through the console: a user whose password an administrator
issued gets only the page to choose their own, every other page sends them there;
every signed-in user may change theirs; the API refuses an issued password."""

from __future__ import annotations

import json
import re

import grpc
import pytest

from common.auth import authenticated_channel, basic
from registry import identity
from registry.database import DEFAULT_OFFICE
from registry.errors import error_reason
from registry.permissions import Role
from tests.console.conftest import PASSWORD, form_fields
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc

pytestmark = pytest.mark.integration

INITIAL = "Abcd-Efgh-Jkmn-Pqrs"  # as identity.new_initial_password makes them
OWN = "carlas very own password"


def issue(console, name: str = "carla", password: str = INITIAL) -> None:
    """A clerk whose password an administrator issued (as the users page does)."""
    with console.registry.server.db.transaction() as tx:
        identity.add_user(tx, identity.local_operator("test"), name, DEFAULT_OFFICE,
                          frozenset({Role.CLERK}), password)


def change(client, current: str, new: str, again: str | None = None, **extra):
    fields = form_fields(client.get("/password").text)
    data = {**fields, "current_password": current, "new_password": new,
            "new_password_again": new if again is None else again, **extra}
    return client.post("/password", data=data), data


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="error-{field}">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


def required(console, name: str) -> bool:
    with console.registry.server.db.transaction() as tx:
        return bool(tx.user_by_name(name)["password_change_required"])


def test_an_issued_password_leads_only_to_choosing_ones_own(console):
    issue(console)
    clerk = console.anonymous()
    signed_in = console.signin(clerk, "carla", INITIAL)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/password?next=/"
    page = clerk.get("/password")
    assert page.status_code == 200 and "Eigenes Passwort wählen" in page.text
    assert 'class="main-nav"' not in page.text  # nothing else offered meanwhile
    # Every other page, read or write, sends her here, nothing done.
    for path in ("/", "/orders", "/orders/new", "/staff", "/users"):
        response = clerk.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/password?next="), path
    csrf = form_fields(page.text)["csrf"]
    posted = clerk.post("/orders/new", data={"csrf": csrf, "kind": "passport"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/password")
    assert console.audit("order.created") == []

    response, data = change(clerk, INITIAL, OWN)
    assert response.status_code == 303
    assert response.headers["location"] == "/password?done=1&next=/"
    done = clerk.get(response.headers["location"]).text
    assert "Ihr Passwort wurde geändert" in done
    assert clerk.get("/orders").status_code == 200  # works now
    assert not required(console, "carla")
    # The same form again does nothing more (it went where the first went).
    again = clerk.post("/password", data=data)
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    [changed] = console.audit("user.password_changed")
    assert (changed["actor"], changed["target"]) == ("user:carla", "carla")
    assert json.loads(changed["detail"])["was_required"] is True
    # The initial password is gone, her own one signs in straight to the start.
    assert console.signin(console.anonymous(), "carla", INITIAL).status_code == 401
    own = console.signin(console.anonymous(), "carla", OWN)
    assert own.status_code == 303 and own.headers["location"] == "/"


def test_refusals_are_named_next_to_their_field_and_change_nothing(console):
    issue(console)
    clerk = console.anonymous()
    console.signin(clerk, "carla", INITIAL)
    response, _ = change(clerk, "not the initial one", OWN)
    assert response.status_code == 422
    assert "Das bisherige Passwort ist falsch." in error_of(response.text, "current_password")
    short = "x" * (identity.MIN_PASSWORD_LENGTH - 1)
    response, _ = change(clerk, INITIAL, short)
    assert response.status_code == 422
    assert (f"mindestens {identity.MIN_PASSWORD_LENGTH} Zeichen"
            in error_of(response.text, "new_password"))
    response, _ = change(clerk, INITIAL, INITIAL)
    assert response.status_code == 422
    assert "vom bisherigen unterscheiden" in error_of(response.text, "new_password")
    response, _ = change(clerk, INITIAL, OWN, OWN + "!")
    assert response.status_code == 422
    assert "unterscheiden sich" in error_of(response.text, "new_password_again")
    response, _ = change(clerk, "", "")
    assert error_of(response.text, "current_password") and error_of(response.text,
                                                                    "new_password")
    english = console.anonymous()
    english.get("/language?lang=en&next=/signin")
    console.signin(english, "carla", INITIAL)
    response, _ = change(english, INITIAL, short)
    assert (f"needs at least {identity.MIN_PASSWORD_LENGTH} characters"
            in error_of(response.text, "new_password"))
    assert required(console, "carla") and console.audit("user.password_changed") == []
    # A wrong current password is audited (and counts towards the sign-in throttle).
    [refused] = console.audit("user.password_change_refused")
    assert (refused["actor"], refused["outcome"]) == ("user:carla", "denied")
    assert json.loads(refused["detail"])["reason"] == "CREDENTIAL_INVALID"


def test_a_stale_form_or_a_password_changed_meanwhile_does_nothing(console):
    issue(console)
    clerk = console.anonymous()
    console.signin(clerk, "carla", INITIAL)
    old_fields = form_fields(clerk.get("/password").text)
    # Signed out and in again: the old form's CSRF token belongs to an ended session.
    clerk.post("/signout", data={"csrf": old_fields["csrf"]})
    console.signin(clerk, "carla", INITIAL)
    stale = clerk.post("/password", data={**old_fields, "current_password": INITIAL,
                                          "new_password": OWN, "new_password_again": OWN})
    assert stale.status_code == 403 and "abgelaufen" in stale.text
    assert required(console, "carla")
    # Two windows: the first changes it, the second's current password is no longer it.
    first, second = clerk, console.anonymous()
    console.signin(second, "carla", INITIAL)
    second_fields = form_fields(second.get("/password").text)
    assert change(first, INITIAL, OWN)[0].status_code == 303
    late = second.post("/password", data={**second_fields, "current_password": INITIAL,
                                          "new_password": "yet another password",
                                          "new_password_again": "yet another password"})
    assert late.status_code == 303 and late.headers["location"].startswith("/signin")  # ended
    assert len(console.audit("user.password_changed")) == 1
    assert console.signin(console.anonymous(), "carla", OWN).status_code == 303


def test_every_user_changes_their_own_password_from_the_header(console):
    clerk = console.client("clara")
    start = clerk.get("/").text
    assert 'href="/password"' in start and "Mein Passwort ändern" in start
    other = console.client("clara")  # another browser of hers
    page = clerk.get("/password").text
    assert "Mein Passwort ändern" in page and 'class="main-nav"' in page
    response, _ = change(clerk, PASSWORD, "claras brand new password")
    assert response.status_code == 303
    assert clerk.get("/orders").status_code == 200  # this browser stays signed in
    assert other.get("/orders").status_code == 303  # the other one is signed out
    [changed] = console.audit("user.password_changed")
    assert json.loads(changed["detail"])["was_required"] is False
    assert console.signin(console.anonymous(), "clara").status_code == 401
    assert console.signin(console.anonymous(), "clara",
                          "claras brand new password").status_code == 303


def test_an_admins_reset_demands_a_new_choice_and_the_users_page_says_so(console):
    admin = console.client("adam")
    assert "vom Benutzer gewählt" in admin.get("/users/clara").text
    html = admin.get("/users/clara").text
    form = re.search(r'<form method="post" action="/users/clara/reset-password".*?</form>',
                     html, re.S).group(0)
    reset = admin.post("/users/clara/reset-password", data=form_fields(form))
    password = re.search(r'id="initial-password">([^<]+)<',
                         admin.get(reset.headers["location"]).text).group(1)
    assert "bei der nächsten Anmeldung zu ersetzen" in admin.get("/users/clara").text
    clerk = console.anonymous()
    assert console.signin(clerk, "clara", password).headers["location"].startswith("/password")
    assert clerk.get("/orders").status_code == 303


def test_the_api_refuses_an_issued_password_with_a_clear_reason(console):
    issue(console)
    registry = console.registry

    def list_orders(password: str):
        stub = pb_grpc.OfficeServiceStub(authenticated_channel(
            registry.channel, basic("carla", password)))
        return stub.ListPickupOrders(pb.ListPickupOrdersRequest(), timeout=10)

    with pytest.raises(grpc.RpcError) as refused:
        list_orders(INITIAL)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(refused.value) == "PASSWORD_CHANGE_REQUIRED"
    assert "sign in to the office console" in refused.value.details()
    failed = [json.loads(r["detail"]) for r in console.audit("login.failed")]
    assert [d["reason"] for d in failed] == ["PASSWORD_CHANGE_REQUIRED"]
    clerk = console.anonymous()
    console.signin(clerk, "carla", INITIAL)
    assert change(clerk, INITIAL, OWN)[0].status_code == 303
    list_orders(OWN)  # her own password works for the API too
