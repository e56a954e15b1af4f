"""Users and roles through the console: admins of an office manage their office's
users under registry/identity.py's rules; everybody else is refused."""

from __future__ import annotations

import json
import re

import pytest

from registry import identity
from registry.database import DEFAULT_OFFICE
from registry.permissions import Role
from tests.console.conftest import PASSWORD, form_fields

pytestmark = pytest.mark.integration

SHOWN_PASSWORD = re.compile(r'id="initial-password">([^<]+)<')


def add(client, name: str, *roles: str, office: str = DEFAULT_OFFICE, **extra):
    fields = form_fields(client.get("/users").text)
    data = {**fields, "name": name, "office": office, "roles": list(roles), **extra}
    return client.post("/users/add", data=data), data


def shown_password(client, response) -> str:
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    found = SHOWN_PASSWORD.search(page.text)
    assert found, page.text
    return found.group(1)


def user_form(client, name: str, action: str) -> dict[str, str]:
    """The hidden fields of one form of a user's page (csrf, request_id, seen)."""
    html = client.get(f"/users/{name}").text
    form = re.search(rf'<form method="post" action="/users/{name}/{action}".*?</form>', html,
                     re.S)
    assert form, html
    return form_fields(form.group(0))


def test_an_admin_adds_a_clerk_who_signs_in_with_the_password_shown_once(console):
    admin = console.client("adam")
    response, data = add(admin, "carla", "clerk")
    password = shown_password(admin, response)
    assert len(password) >= identity.MIN_PASSWORD_LENGTH
    # Shown once: the page does not show it again, and it is not stored in clear.
    assert password not in admin.get(response.headers["location"]).text
    assert password.encode() not in b"".join(
        bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
        for row in console.registry.sql("SELECT * FROM principals") for v in row)
    # The same form again: nothing new, the same outcome.
    again = admin.post("/users/add", data=data)
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    created = console.audit("user.created")
    assert [(r["actor"], r["target"], json.loads(r["detail"])["roles"]) for r in created] == [
        ("user:adam", "carla", "clerk")]
    clerk = console.anonymous()
    signed_in = console.signin(clerk, "carla", password)
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/password")
    fields = form_fields(clerk.get("/password").text)
    chosen = clerk.post("/password", data={**fields, "current_password": password,
                                           "new_password": "carlas own password",
                                           "new_password_again": "carlas own password"})
    assert chosen.status_code == 303, chosen.text
    assert clerk.get("/users").status_code == 403
    listing = admin.get("/users").text
    assert "carla" in listing and "Sachbearbeitung" in listing


def test_only_admins_see_the_users_page(console):
    for name in ("clara", "sven", "tina"):
        client = console.client(name)
        assert client.get("/users").status_code == 403
        assert 'href="/users"' not in client.get("/").text
        csrf = form_fields(client.get("/").text)["csrf"]
        refused = client.post("/users/add", data={"csrf": csrf, "name": "x", "roles": "admin"})
        assert refused.status_code == 403
    assert console.audit("user.created") == []
    assert 'href="/users"' in console.client("adam").get("/").text


def test_bad_fields_are_named_in_german_next_to_the_field(console):
    admin = console.client("adam")
    response, _ = add(admin, "no spaces please")
    assert response.status_code == 422
    assert 'id="error-roles"' in response.text and "mindestens eine Rolle" in response.text
    response, _ = add(admin, "no spaces please", "clerk")
    assert response.status_code == 422
    assert 'id="error-name"' in response.text and "Ein Benutzername hat" in response.text
    response, _ = add(admin, "clara", "clerk")
    assert response.status_code == 422 and "ist vergeben" in response.text
    english = console.client("adam")
    english.get("/language?lang=en&next=/users")
    response, _ = add(english, "clara", "clerk")
    assert "This user name is taken" in response.text
    assert console.audit("user.created") == []


def test_an_office_admin_cannot_reach_beyond_their_office_or_rank(console):
    with console.registry.server.db.transaction() as tx:
        tx.add_office("nord", "Bürgerbüro Nord")
        identity.create_user(tx, "nora", PASSWORD, "nord", frozenset({Role.CLERK}))
        identity.create_user(tx, "olga", PASSWORD, None, frozenset({Role.ADMIN}))
    admin = console.client("adam")
    listing = admin.get("/users").text
    assert "clara" in listing and "nora" not in listing and "olga" not in listing
    response, _ = add(admin, "nils", "clerk", office="nord")
    assert response.status_code == 403 and "nur die Benutzer Ihrer Dienststelle" in response.text
    response, _ = add(admin, "root2", "admin", office="")
    assert response.status_code == 403 and "Betreibers" in response.text
    assert admin.get("/users/nora").status_code == 404
    fields = user_form(admin, "clara", "roles")
    foreign = admin.post("/users/nora/deactivate", data=fields)
    assert foreign.status_code == 403
    assert [r["reason"] for r in
            map(lambda r: json.loads(r["detail"]), console.audit("call.denied"))
            if r.get("method", "").startswith("console:/users")] == [
        "OTHER_OFFICE", "OPERATOR_ONLY", "OTHER_OFFICE"]
    assert console.audit("user.created") == [] and console.audit("user.revoked") == []
    # The operator's admin (no office) may do both.
    operator = console.client("olga")
    response, _ = add(operator, "nils", "clerk", office="nord")
    assert response.status_code == 303


def test_an_admin_cannot_take_their_own_last_admin_right(console):
    admin = console.client("adam")
    fields = user_form(admin, "adam", "roles")
    response = admin.post("/users/adam/roles", data={**fields, "roles": ["clerk"]})
    assert response.status_code == 403 and "letzte Administration" in response.text
    fields = user_form(admin, "adam", "deactivate")
    assert admin.post("/users/adam/deactivate", data=fields).status_code == 403
    with console.registry.server.db.transaction() as tx:
        assert tx.user_by_name("adam")["roles"] == "admin"
        assert tx.user_by_name("adam")["revoke_time"] is None


def test_role_change_deactivation_reactivation_and_reset_are_audited(console):
    admin = console.client("adam")
    clerk = console.client("clara")
    assert clerk.get("/orders").status_code == 200
    old_form = user_form(admin, "clara", "deactivate")
    fields = user_form(admin, "clara", "roles")
    changed = admin.post("/users/clara/roles", data={**fields, "roles": ["clerk", "supervisor"]})
    assert changed.status_code == 303
    assert admin.post("/users/clara/roles", data={**fields, "roles": ["clerk"]}).headers[
        "location"] == changed.headers["location"]  # a second submit does nothing
    assert clerk.get("/staff").status_code == 200  # the new role counts at once
    # A form that showed clara before the change is stale now: refused, nothing done.
    stale = admin.post("/users/clara/deactivate", data=old_form)
    assert stale.status_code == 409 and "inzwischen geändert" in stale.text
    fields = user_form(admin, "clara", "deactivate")
    assert admin.post("/users/clara/deactivate", data=fields).status_code == 303
    # Her open session ended: the next request goes to the sign-in page.
    assert clerk.get("/orders").status_code == 303
    assert console.signin(console.anonymous(), "clara").status_code == 401
    fields = user_form(admin, "clara", "reactivate")
    assert admin.post("/users/clara/reactivate", data=fields).status_code == 303
    signed_in = console.client("clara")
    fields = user_form(admin, "clara", "reset-password")
    new_password = shown_password(admin, admin.post("/users/clara/reset-password", data=fields))
    assert signed_in.get("/orders").status_code == 303  # a reset signs her out too
    assert console.signin(console.anonymous(), "clara").status_code == 401
    assert console.signin(console.anonymous(), "clara", new_password).status_code == 303
    actions = [(r["action"], r["actor"], r["target"]) for r in console.registry.sql(
        "SELECT * FROM audit_log WHERE action LIKE 'user.%' ORDER BY seq")]
    assert actions == [("user.roles_changed", "user:adam", "clara"),
                       ("user.revoked", "user:adam", "clara"),
                       ("user.reactivated", "user:adam", "clara"),
                       ("user.password_reset", "user:adam", "clara")]


def test_an_admin_unlinks_a_single_sign_on_identity(console):
    issuer = "https://idp.example.org"
    with console.registry.server.db.transaction() as tx:
        identity.link_oidc(tx, identity.local_operator("test"), "clara", issuer, "sub-1")
    admin = console.client("adam")
    listing = admin.get("/users").text
    row = re.search(r"<tr>\s*<td><a href=\"/users/clara\">.*?</tr>", listing, re.S).group(0)
    assert ">verknüpft<" in row
    fields = user_form(admin, "clara", "unlink")
    response = admin.post("/users/clara/unlink", data={**fields, "issuer": issuer,
                                                       "subject": "sub-1"})
    assert response.status_code == 303
    with console.registry.server.db.transaction() as tx:
        assert tx.oidc_principal(issuer, "sub-1") is None
    assert [r["target"] for r in console.audit("user.oidc_unlinked")] == ["clara"]


def test_the_list_shows_the_last_sign_in_from_the_users_row(console):
    console.client("clara")
    with console.registry.server.db.transaction() as tx:
        assert tx.user_by_name("clara")["last_sign_in_time"] is not None
        assert tx.user_by_name("tina")["last_sign_in_time"] is None
    # Not from the audit log: what retention purges there does not matter.
    console.registry.sql("DELETE FROM audit_log WHERE action = 'login'")
    listing = console.client("adam").get("/users").text
    clara = re.search(r'<a href="/users/clara">.*?</tr>', listing, re.S).group(0)
    tina = re.search(r'<a href="/users/tina">.*?</tr>', listing, re.S).group(0)
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", clara)
    assert "nicht bekannt" in tina
