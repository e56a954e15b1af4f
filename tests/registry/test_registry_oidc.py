"""OpenID Connect sign-in against a real identity provider on loopback (tests/oidc_idp.py).

The "browser" follows the authorize redirect over real HTTP; the registry
redeems the code at the token endpoint, checks the RS256 ID token against
the JWKS and maps (issuer, subject) to a registry user.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest

from common.credentials import KdfParams
from registry import identity
from registry.cli import main as registry_cli
from registry.oidc import (
    NO_ROLES,
    STATE_UNKNOWN,
    TOKEN_INVALID,
    USER_UNKNOWN,
    OidcConfig,
    OidcError,
    OidcProvider,
    check_claims,
    insecure_url,
    load_configs,
    pkce_challenge,
    roles_from_claim,
)
from registry.permissions import Role
from tests.oidc_idp import TestIdentityProvider

REDIRECT = "http://127.0.0.1:1/oidc/callback"


@pytest.fixture
def idp():
    server = TestIdentityProvider().start()
    yield server
    server.stop()


@pytest.fixture
def db(open_database):
    database = open_database(kdf_params=KdfParams(n=2**4, r=1, p=1))
    with database.transaction() as tx:
        tx.add_office("north", "Bürgerbüro Nord")
        tx.add_office("south", "Bürgerbüro Süd")
        identity.create_user(tx, "anna", "correct horse battery", "north",
                             frozenset({Role.SUPERVISOR}))
        identity.create_user(tx, "sven", "correct horse battery", "south",
                             frozenset({Role.CLERK}))
    return database


def link(db, idp, name: str, subject: str) -> None:
    assert registry_cli(["user", "link", name, "--issuer", idp.issuer, "--subject", subject,
                         "--db", db.target]) == 0


def provider(db, idp, **config) -> OidcProvider:
    return OidcProvider(db, OidcConfig(issuer=idp.issuer, client_id="pickupbox",
                                       client_secret="s3cret", redirect_uri=REDIRECT, **config))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser_signs_in(url: str) -> dict[str, str]:
    """Follows the authorize URL and returns the callback's query (code, state)."""
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(url, timeout=5)
    assert redirect.value.code == 302
    location = redirect.value.headers["Location"]
    assert location.startswith(REDIRECT)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def sign_in(p: OidcProvider):
    url, state = p.authorization_url()
    back = browser_signs_in(url)
    assert back["state"] == state
    return p.complete(back["code"], back["state"], peer="ipv4:127.0.0.1:5555")


def audit(db, action: str):
    with db.transaction() as tx:
        return [e for e in tx.audit_entries() if e.action == action]


def test_a_linked_person_signs_in_as_their_registry_user(db, idp):
    link(db, idp, "anna", "u-1001")
    principal = sign_in(provider(db, idp))
    assert (principal.kind, principal.name, principal.office_id) == ("user", "anna", "north")
    assert principal.roles == {Role.SUPERVISOR}
    # PKCE: the code went back with the verifier the challenge was made from.
    assert idp.token_requests[-1]["code_verifier"]
    login = audit(db, "login")[-1]
    assert login.actor == "user:anna" and '"method": "oidc"' in login.detail


def test_an_unknown_person_is_refused_and_audited(db, idp):
    idp.next_claims = {"sub": "u-stranger"}
    with pytest.raises(OidcError) as refused:
        sign_in(provider(db, idp))
    assert refused.value.reason == USER_UNKNOWN and "kiosk-registry user link" in refused.value.message
    failed = audit(db, "login.failed")[-1]
    assert failed.actor.startswith("oidc:u-stranger@") and failed.outcome == "denied"


@pytest.mark.parametrize("misbehave", ["rogue_key", "wrong_nonce", "expired", "other_audience",
                                       "other_issuer"])
def test_an_id_token_that_does_not_check_out_is_refused(db, idp, misbehave):
    link(db, idp, "anna", "u-1001")
    idp.misbehave = misbehave
    with pytest.raises(OidcError) as refused:
        sign_in(provider(db, idp))
    assert refused.value.reason == TOKEN_INVALID
    assert audit(db, "login.failed") and not audit(db, "login")


def test_a_rotated_provider_key_is_fetched_again(db, idp):
    link(db, idp, "anna", "u-1001")
    p = provider(db, idp)
    sign_in(p)  # the JWKS is cached now
    idp.rotate_key()
    assert sign_in(p).name == "anna"


def test_a_state_works_once_and_only_for_its_sign_in(db, idp):
    link(db, idp, "anna", "u-1001")
    p = provider(db, idp)
    url, state = p.authorization_url()
    back = browser_signs_in(url)
    with pytest.raises(OidcError) as forged:
        p.complete(back["code"], "a-state-nobody-made")
    assert forged.value.reason == STATE_UNKNOWN
    p.complete(back["code"], state)
    with pytest.raises(OidcError) as replay:
        p.complete(back["code"], state)
    assert replay.value.reason == STATE_UNKNOWN


def test_a_revoked_user_is_refused(db, idp):
    link(db, idp, "anna", "u-1001")
    assert registry_cli(["user", "revoke", "anna", "--db", db.target]) == 0
    with pytest.raises(OidcError) as refused:
        sign_in(provider(db, idp))
    assert refused.value.reason == "CREDENTIAL_REVOKED"


def test_a_provider_of_one_office_refuses_another_offices_users(db, idp):
    link(db, idp, "sven", "u-2002")
    idp.next_claims = {"sub": "u-2002"}
    with pytest.raises(OidcError) as refused:
        sign_in(provider(db, idp, office_id="north"))
    assert refused.value.reason == "OTHER_OFFICE"
    assert sign_in(provider(db, idp, office_id="south")).name == "sven"


def test_roles_from_a_group_claim(db, idp):
    link(db, idp, "anna", "u-1001")
    idp.next_claims = {"sub": "u-1001", "groups": ["buergerbuero-schalter", "other"]}
    role_map = {"buergerbuero-schalter": "clerk", "buergerbuero-leitung": "supervisor"}
    principal = sign_in(provider(db, idp, roles_claim="groups", role_map=role_map))
    assert principal.roles == {Role.CLERK}  # the claim, not the record's supervisor
    idp.next_claims = {"sub": "u-1001", "groups": ["other"]}
    with pytest.raises(OidcError) as refused:
        sign_in(provider(db, idp, roles_claim="groups", role_map=role_map))
    assert refused.value.reason == NO_ROLES


def test_link_refuses_a_second_user_for_one_identity(db, idp, capsys):
    link(db, idp, "anna", "u-1001")
    assert registry_cli(["user", "link", "sven", "--issuer", idp.issuer, "--subject", "u-1001",
                         "--db", db.target]) == 1
    assert "already linked to anna" in capsys.readouterr().err
    assert registry_cli(["user", "link", "anna", "--issuer", idp.issuer, "--subject", "u-1001",
                         "--unlink", "--db", db.target]) == 0
    with pytest.raises(OidcError):
        sign_in(provider(db, idp))


def test_only_https_providers(db):
    with pytest.raises(ValueError, match="https"):
        OidcProvider(db, OidcConfig(issuer="http://id.example", client_id="c", redirect_uri="r"))
    assert not insecure_url("https://id.example") and insecure_url("http://10.0.0.1")


def test_pure_rules():
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")  # RFC 7636 appendix B
    good = {"iss": "I", "aud": ["C", "X"], "azp": "C", "exp": 1000, "iat": 900, "nonce": "n",
            "sub": "s"}
    assert check_claims(good, issuer="I", client_id="C", nonce="n", now=950) is None
    assert "azp" in check_claims({**good, "azp": "X"}, issuer="I", client_id="C", nonce="n",
                                 now=950)
    assert "future" in check_claims({**good, "iat": 2000}, issuer="I", client_id="C", nonce="n",
                                    now=950)
    assert roles_from_claim("a b", {"a": "clerk", "b": "auditor"}) == {Role.CLERK, Role.AUDITOR}


def test_configs_from_toml(tmp_path):
    path = tmp_path / "oidc.toml"
    path.write_text('[[oidc]]\nissuer = "https://id.example"\nclient_id = "pbx"\n'
                    'redirect_uri = "https://r.example/cb"\noffice_id = "north"\n'
                    'scopes = ["openid"]\n[oidc.role_map]\nleitung = "supervisor"\n')
    (config,) = load_configs(path)
    assert config.office_id == "north" and config.scopes == ("openid",)
    assert config.role_map == {"leitung": "supervisor"}
    path.write_text('[[oidc]]\nissuer = "x"\n')
    with pytest.raises(ValueError, match="number 1"):
        load_configs(path)
