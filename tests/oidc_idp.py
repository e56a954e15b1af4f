"""A small OpenID Connect identity provider for tests: real HTTP on loopback.

Discovery document, an authorize endpoint that redirects (the person who
"signs in" is whoever the test set in ``next_claims``), a token endpoint
that checks the client, the redirect URI and the PKCE verifier, a JWKS and
RS256-signed ID tokens. Tests can make it misbehave the ways a broken or
hostile provider would (``misbehave``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey


_KEYS: list[RSAKey] = []


def _keys() -> list[RSAKey]:
    """The provider's signing key and a rogue one with the same kid (made once: RSA is slow)."""
    if not _KEYS:
        _KEYS.append(RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"}))
        _KEYS.append(RSAKey.generate_key(2048, parameters={"kid": "key-1"}))
    return _KEYS


class TestIdentityProvider:
    __test__ = False  # a helper, not a test class

    def __init__(self, client_id: str = "pickupbox", client_secret: str = "s3cret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key, self.rogue_key = _keys()
        self.next_claims: dict[str, Any] = {"sub": "u-1001"}
        # "rogue_key", "wrong_nonce", "expired", "other_audience", "other_issuer": one at a time.
        self.misbehave = ""
        self._codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, idp.discovery())
                elif url.path == "/jwks":
                    self._json(200, {"keys": [idp.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    query = dict(urllib.parse.parse_qsl(url.query))
                    status, location = idp.authorize(query)
                    self.send_response(status)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                status, body = idp.token(form, self.headers.get("Authorization", ""))
                self._json(status, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    def start(self) -> "TestIdentityProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def rotate_key(self) -> None:
        """A new signing key under a new kid (the JWKS then lists only it)."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-2", "use": "sig"})

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        if (query.get("client_id") != self.client_id or query.get("response_type") != "code"
                or query.get("code_challenge_method") != "S256"
                or "openid" not in query.get("scope", "").split()):
            return 302, f"{query.get('redirect_uri', '/')}?error=invalid_request"
        code = secrets.token_urlsafe(16)
        self._codes[code] = {**query, "claims": dict(self.next_claims)}
        back = urllib.parse.urlencode({"code": code, "state": query["state"]})
        return 302, f"{query['redirect_uri']}?{back}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        self.token_requests.append(form)
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["code_challenge"]:
            return 400, {"error": "invalid_grant"}  # PKCE
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], **grant["claims"]}
        key = self.key
        if self.misbehave == "rogue_key":
            key = self.rogue_key
        elif self.misbehave == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.misbehave == "expired":
            claims["exp"] = now - 3600
        elif self.misbehave == "other_audience":
            claims["aud"] = "another-app"
        elif self.misbehave == "other_issuer":
            claims["iss"] = "https://evil.example"
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                     "id_token": id_token, "expires_in": 300}
