"""OpenID Connect sign-in for people: a municipality's own identity provider.

The flow is the authorization-code flow with PKCE (RFC 7636, S256) plus
``state`` and ``nonce``:

1. ``OidcProvider.authorization_url()`` makes a fresh state, nonce and code
   verifier, remembers them (in this process, for ``LOGIN_TIMEOUT``) and
   returns the provider's authorize URL to send the browser to.
2. The provider sends the browser back to ``redirect_uri`` with ``code`` and
   ``state``. ``OidcProvider.complete(code, state)`` takes the remembered
   request (once: a state never works twice), redeems the code at the token
   endpoint with the verifier, checks the ID token (signature against the
   provider's JWKS, issuer, audience, expiry, nonce) and returns the
   registry :class:`~registry.permissions.Principal`.

Who the person is in the registry is decided by (issuer, subject), never by
an e-mail address or name a user can change at the provider: an
administrator links the identity to a local user once
(``kiosk-registry user link NAME --issuer URL --subject SUB``). Office and
roles come from that user record; a provider configured with ``roles_claim``
and ``role_map`` takes the roles from the ID token instead (the
municipality's groups), and ``office_claim`` the office. An identity that is
linked to nobody, a revoked user, a user of another office than a provider
configured for one office: refused with :class:`OidcError`, and audited.

For the web console (registry/console/): one ``OidcProvider`` per configured
provider (``load_configs(path)`` reads ``[[oidc]]`` tables from TOML); on
"sign in", ``url, state = provider.authorization_url()`` and redirect the
browser to ``url`` (keep ``state`` with where to return, e.g. in the
console's session cookie); on the callback, ``principal =
provider.complete(code, state, peer=client address)`` and start the console
session for ``principal``. ``OidcError.reason`` is one of the reasons below
(or ``CREDENTIAL_REVOKED``/``OTHER_OFFICE`` of registry/permissions.py),
``.message`` is for the person; every refusal is already audited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from registry import permissions
from registry.database import RegistryDatabase
from registry.identity import check_scope, parse_roles, principal_of
from registry.permissions import Principal, Role

LOGIN_TIMEOUT = 600.0  # seconds from authorization_url() to complete()
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated for exp/iat
# Asymmetric signatures only: an HS256 token would be "signed" with the
# client secret, which the registry shares with others in the office's IT.
ALGORITHMS = ["RS256", "PS256", "ES256"]

# OidcError reasons.
STATE_UNKNOWN = "OIDC_STATE_UNKNOWN"
PROVIDER_ERROR = "OIDC_PROVIDER_ERROR"
TOKEN_INVALID = "OIDC_TOKEN_INVALID"
USER_UNKNOWN = "OIDC_USER_UNKNOWN"
NO_ROLES = "OIDC_NO_ROLES"


class OidcError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    redirect_uri: str
    client_secret: str = ""  # empty: a public client (PKCE only)
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # None: registry-wide (each user's own office); else only this office's users.
    office_id: str | None = None
    # Roles from a claim (a list or a space-separated string of group names),
    # mapped by role_map {group: "clerk,supervisor"}; "" = from the user record.
    roles_claim: str = ""
    role_map: dict[str, str] = field(default_factory=dict)
    office_claim: str = ""
    timeout: float = 10.0


def load_configs(path: str | Path) -> list[OidcConfig]:
    """``[[oidc]]`` tables of a TOML file, one per provider."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    configs = []
    for i, table in enumerate(data.get("oidc", [])):
        try:
            if "scopes" in table:
                table["scopes"] = tuple(table["scopes"])
            configs.append(OidcConfig(**table))
        except TypeError as error:
            raise ValueError(f"{path}: [[oidc]] number {i + 1}: {error}") from None
    return configs


def insecure_url(url: str) -> bool:
    """Tokens and keys travel only over https (plain http on loopback only, for tests)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
                 now: float) -> str | None:
    """Why the ID token's claims are not acceptable (None: they are). OIDC Core 3.1.3.7."""
    if claims.get("iss") != issuer:
        return f"issued by {claims.get('iss')!r}, not {issuer!r}"
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences:
        return f"meant for {audiences}, not this registry ({client_id})"
    if len(audiences) > 1 and claims.get("azp") != client_id:
        return "several audiences and azp is not this registry"
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] + CLOCK_LEEWAY < now:
        return "expired"
    if isinstance(claims.get("iat"), (int, float)) and claims["iat"] - CLOCK_LEEWAY > now:
        return "issued in the future (check the clocks)"
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        return "the nonce does not match this sign-in (a replayed token?)"
    if not claims.get("sub"):
        return "no subject"
    return None


def roles_from_claim(value: Any, role_map: dict[str, str]) -> frozenset[Role]:
    groups = value.split() if isinstance(value, str) else list(value or [])
    roles: set[Role] = set()
    for group in groups:
        if group in role_map:
            roles |= parse_roles(role_map[group])
    return frozenset(roles)


@dataclass(frozen=True)
class _Pending:
    nonce: str
    verifier: str
    created: float


class OidcProvider:
    def __init__(self, db: RegistryDatabase, config: OidcConfig, *, clock=time.time) -> None:
        if insecure_url(config.issuer):
            raise ValueError(f"the OpenID Connect issuer {config.issuer!r} must be an https URL")
        self._db = db
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    # ------------------------------------------------------------ HTTP

    def _get_json(self, url: str, data: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            if self.config.client_secret:
                pair = (f"{urllib.parse.quote(self.config.client_id, safe='')}:"
                        f"{urllib.parse.quote(self.config.client_secret, safe='')}")
                headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        request = urllib.request.Request(url, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read()).get("error", "")
            except ValueError:
                detail = ""
            raise OidcError(PROVIDER_ERROR, f"the identity provider answered {error.code}"
                                            f" {detail} at {url}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise OidcError(PROVIDER_ERROR,
                            f"cannot reach the identity provider at {url}: {error}") from None

    def metadata(self) -> dict[str, Any]:
        """The discovery document (fetched once)."""
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            found = self._get_json(url)
            if found.get("issuer") != self.config.issuer:
                raise OidcError(PROVIDER_ERROR, f"the discovery document at {url} names the"
                                f" issuer {found.get('issuer')!r}, not {self.config.issuer!r}")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(name), str) or insecure_url(found[name]):
                    raise OidcError(PROVIDER_ERROR, f"the discovery document at {url} has no"
                                    f" https {name}")
            self._metadata = found
        return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))
        return self._keys

    # ------------------------------------------------------------ the flow

    def authorization_url(self) -> tuple[str, str]:
        """(URL to send the browser to, state)."""
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        now = self._clock()
        with self._lock:
            self._pending = {s: p for s, p in self._pending.items()
                             if now - p.created < LOGIN_TIMEOUT}
            self._pending[state] = _Pending(nonce, verifier, now)
        query = urllib.parse.urlencode({
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        })
        endpoint = self.metadata()["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state

    def complete(self, code: str, state: str, *, peer: str = "") -> Principal:
        """The registry principal of a finished sign-in (OidcError if refused)."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or self._clock() - pending.created >= LOGIN_TIMEOUT:
            raise self._refused(STATE_UNKNOWN, "this sign-in is unknown, used or too old:"
                                " start again", "anonymous", peer)
        try:
            claims = self._id_token_claims(code, pending)
        except OidcError as error:
            raise self._refused(error.reason, error.message, "anonymous", peer) from None
        return self._principal(claims, peer)

    def _id_token_claims(self, code: str, pending: _Pending) -> dict[str, Any]:
        tokens = self._get_json(self.metadata()["token_endpoint"], {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "client_id": self.config.client_id,
            "code_verifier": pending.verifier,
        })
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError(TOKEN_INVALID, "the identity provider sent no ID token")
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=ALGORITHMS)
            except JoseError as error:
                if error.error != "invalid_key_id":
                    raise
                # The provider rotated its keys: fetch them once more.
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise OidcError(TOKEN_INVALID, f"the ID token's signature does not check out"
                                           f" ({error})") from None
        problem = check_claims(token.claims, issuer=self.config.issuer,
                               client_id=self.config.client_id, nonce=pending.nonce,
                               now=self._clock())
        if problem is not None:
            raise OidcError(TOKEN_INVALID, f"the ID token is not acceptable: {problem}")
        return token.claims

    def _principal(self, claims: dict[str, Any], peer: str) -> Principal:
        issuer, subject = self.config.issuer, str(claims["sub"])
        who = f"oidc:{subject}@{issuer}"[:120]
        with self._db.transaction() as tx:
            row = tx.oidc_principal(issuer, subject)
        if row is None:
            raise self._refused(USER_UNKNOWN, "this account is not known to the registry: ask"
                                " an administrator to link it (kiosk-registry user link)",
                                who, peer)
        principal = principal_of(row)
        if row["revoke_time"] is not None:
            raise self._refused(permissions.CREDENTIAL_REVOKED,
                                f"the account {principal.name} was revoked: ask an"
                                " administrator", principal.label, peer)
        roles, office = principal.roles, principal.office_id
        if self.config.roles_claim:
            roles = roles_from_claim(claims.get(self.config.roles_claim), self.config.role_map)
        if self.config.office_claim:
            office = str(claims.get(self.config.office_claim) or "") or None
        try:
            check_scope(office, roles)
        except ValueError:
            raise self._refused(NO_ROLES, f"{principal.label} has no role (or no office) here:"
                                " ask an administrator", principal.label, peer)
        if self.config.office_id is not None and office != self.config.office_id:
            raise self._refused(permissions.OTHER_OFFICE,
                                f"{principal.label} belongs to another office than this"
                                " sign-in; use your office's sign-in", principal.label, peer)
        principal = Principal(kind="user", name=principal.name,
                              principal_id=principal.principal_id, office_id=office,
                              roles=roles)
        with self._db.transaction() as tx:
            tx.audit(principal.label, "login", office_id=office or "", method="oidc",
                     issuer=issuer, subject=subject,
                     roles=",".join(sorted(r.value for r in roles)), peer=peer)
        return principal

    def _refused(self, reason: str, message: str, who: str, peer: str) -> OidcError:
        with self._db.transaction() as tx:
            tx.audit(who, "login.failed", outcome="denied", method="oidc",
                     issuer=self.config.issuer, reason=reason, peer=peer)
        return OidcError(reason, message)
