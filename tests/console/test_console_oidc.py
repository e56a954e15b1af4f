"""Single sign-on in the console against a real OpenID Connect provider on
loopback (tests/oidc_idp.py): a linked person gets a console session, an
unlinked one is refused with what to do, and an answer that this browser
did not ask for is not taken."""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from registry import identity
from registry.console import build_console
from registry.database import DEFAULT_OFFICE
from registry.oidc import OidcConfig, OidcProvider
from registry.permissions import Role
from registry.web import WebServer, build_app
from tests.oidc_idp import TestIdentityProvider
from tests.registry.conftest import start_registry

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sso(tmp_path):
    idp = TestIdentityProvider().start()
    registry = start_registry(tmp_path / "registry.sqlite3", tmp_path / "notifications")
    port = _free_port()
    config = OidcConfig(issuer=idp.issuer, client_id=idp.client_id,
                        client_secret=idp.client_secret,
                        redirect_uri=f"http://127.0.0.1:{port}/signin/oidc/callback")
    provider = OidcProvider(registry.server.db, config)
    with registry.server.db.transaction() as tx:
        principal_id = identity.create_user(tx, "anna", "correct horse battery", DEFAULT_OFFICE,
                                            frozenset({Role.CLERK}))
        tx.link_oidc_identity(idp.issuer, "u-1001", principal_id)
    web = WebServer(build_app(build_console(registry.server, oidc=[provider])),
                    f"127.0.0.1:{port}")
    web.start()
    yield idp, registry, web
    web.stop()
    registry.close()
    idp.stop()


def _start(client: httpx.Client) -> str:
    """Clicks "sign in with …" and lets the provider answer: the callback URL."""
    page = client.get("/signin").text
    link = re.search(r'href="(/signin/oidc/0[^"]*)"', page).group(1).replace("&amp;", "&")
    to_provider = client.get(link)
    assert to_provider.status_code == 303
    answer = httpx.get(to_provider.headers["location"], follow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["location"]


def test_a_linked_person_signs_in_through_the_identity_provider(sso):
    idp, registry, web = sso
    with httpx.Client(base_url=web.url, follow_redirects=False) as client:
        assert f"Anmelden über 127.0.0.1" in client.get("/signin").text
        callback = _start(client)
        done = client.get(callback)
        assert done.status_code == 303
        home = client.get("/")
        assert home.status_code == 200 and "Angemeldet als anna" in home.text
    logins = registry.sql("SELECT actor, detail FROM audit_log WHERE action = 'login'")
    assert [r["actor"] for r in logins] == ["user:anna"]
    assert '"method": "oidc"' in logins[0]["detail"] and '"peer": "console:' in logins[0]["detail"]
    # The users page's last sign-in, in the account's row.
    assert registry.sql("SELECT last_sign_in_time FROM principals WHERE name = 'anna'")[0][0]


def test_single_sign_on_is_not_held_up_by_an_issued_password(sso):
    """The password an administrator issued is not used by single sign-on, so the
    console opens as usual (the API still refuses that password)."""
    idp, registry, web = sso
    with registry.server.db.transaction() as tx:
        identity.reset_password(tx, identity.local_operator("test"), "anna")
    with httpx.Client(base_url=web.url, follow_redirects=False) as client:
        assert client.get(_start(client)).status_code == 303
        assert client.get("/orders").status_code == 200


def test_an_unlinked_person_is_refused_with_what_to_do(sso):
    idp, registry, web = sso
    idp.next_claims = {"sub": "u-9999"}
    with httpx.Client(base_url=web.url, follow_redirects=False) as client:
        refused = client.get(_start(client))
        assert refused.status_code == 401
        assert "mit keinem Benutzer dieser Konsole verknüpft" in refused.text
        assert client.get("/").status_code == 303  # still signed out


def test_an_answer_this_browser_did_not_ask_for_is_not_taken(sso):
    idp, registry, web = sso
    with httpx.Client(base_url=web.url, follow_redirects=False) as victim, \
            httpx.Client(base_url=web.url, follow_redirects=False) as attacker:
        callback = _start(attacker)  # the attacker's own sign-in, sent to someone else
        forced = victim.get(callback)
        assert forced.status_code == 403 and "nicht in diesem Browser begonnen" in forced.text
        assert victim.get("/").status_code == 303
        # The state was not used up by the refusal: it still needs its own browser.
        query = dict(parse_qsl(urlsplit(callback).query))
        assert query["state"] and query["code"]
