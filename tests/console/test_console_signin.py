"""Signing in and out of the console: real registry accounts, audited, with
sessions that end when they should and forms that only count from this console."""

from __future__ import annotations

import pytest

from registry.console.sessions import COOKIE
from tests.console.conftest import PASSWORD, form_fields, start_console

pytestmark = pytest.mark.integration


def test_pages_need_a_sign_in_and_say_so(console):
    client = console.anonymous()
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?signin=1&next=/")
    page = client.get(response.headers["location"])
    assert "Bitte melden Sie sich an" in page.text
    assert '<html lang="de">' in page.text


def test_a_clerk_signs_in_with_the_registry_password_and_it_is_audited(console):
    client = console.anonymous()
    response = console.signin(client, "clara")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback; https sets it
    home = client.get("/")
    assert home.status_code == 200 and "Angemeldet als clara" in home.text
    logins = console.audit("login")
    assert [row["actor"] for row in logins] == ["user:clara"]
    assert '"console:signin"' in logins[0]["detail"]


def test_a_wrong_password_is_refused_next_to_nothing_secret_and_audited(console):
    client = console.anonymous()
    response = console.signin(client, "clara", "wrong password!!")
    assert response.status_code == 401
    assert "Benutzername oder Passwort ist falsch" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303
    failed = console.audit("login.failed")
    assert [(row["actor"], row["outcome"]) for row in failed] == [("user:clara", "denied")]
    assert "wrong password" not in failed[0]["detail"]


def test_empty_fields_are_named_next_to_the_field(console):
    client = console.anonymous()
    fields = form_fields(client.get("/signin").text)
    response = client.post("/signin", data={**fields, "user": "", "password": ""})
    assert response.status_code == 422
    assert 'id="error-user"' in response.text and 'id="error-password"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_a_sign_in_form_from_elsewhere_does_nothing(console):
    client = console.anonymous()
    client.get("/signin")
    response = client.post("/signin", data={"signin_csrf": "forged", "user": "clara",
                                            "password": PASSWORD})
    assert response.status_code == 403
    assert console.audit("login") == []


def test_sign_out_ends_the_session_for_good(console):
    client = console.client("clara")
    token = client.cookies[COOKIE]
    csrf = form_fields(client.get("/").text)["csrf"]
    response = client.post("/signout", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/signin?out=1"
    assert [row["actor"] for row in console.audit("logout")] == ["user:clara"]
    replay = console.anonymous()
    replay.cookies.set(COOKIE, token)
    assert replay.get("/").status_code == 303  # the old token is worthless


def test_a_post_without_the_sessions_csrf_token_does_nothing(console):
    client = console.client("clara")
    response = client.post("/signout", data={"csrf": "not-the-token"})
    assert response.status_code == 403
    assert "Dieses Formular ist abgelaufen" in response.text
    assert console.audit("logout") == []
    assert client.get("/").status_code == 200  # still signed in


def test_idle_sessions_are_signed_out_and_it_is_said_why(tmp_path):
    running = start_console(tmp_path, idle_minutes=0)  # every gap counts as idle
    try:
        client = running.client("clara")
        response = client.get("/")
        assert response.status_code == 303 and "idle=1" in response.headers["location"]
        page = client.get(response.headers["location"])
        assert "ohne Aktivität abgemeldet" in page.text
        assert [r["actor"] for r in running.audit("console.session_expired")] == ["user:clara"]
    finally:
        running.close()


def test_a_revoked_account_is_signed_out_at_its_next_request(console):
    client = console.client("clara")
    with console.registry.server.db.transaction() as tx:
        tx.revoke_principal(tx.user_by_name("clara")["principal_id"])
    assert client.get("/").status_code == 303
    assert [r["actor"] for r in console.audit("console.session_revoked")] == ["user:clara"]


def test_the_language_switch_offers_english(console):
    client = console.client("clara")
    response = client.get("/language", params={"lang": "en", "next": "/"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = client.get("/")
    assert '<html lang="en">' in home.text and "Signed in as clara" in home.text
    assert client.get("/language", params={"lang": "en", "next": "//evil.example"}
                      ).headers["location"] == "/"


def test_pages_forbid_framing_and_foreign_scripts(console):
    response = console.anonymous().get("/signin")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
