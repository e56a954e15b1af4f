"""How a caller presents its credential to the registry (both sides share this).

A credential travels as gRPC metadata: ``authorization: Bearer <token>`` for
API keys and kiosk credentials, ``authorization: Basic <base64 user:pw>`` for
a local user. A token is ``pbx1.<id>.<secret>``: the id finds the stored hash
without a scan, the secret (32 random bytes) is what is checked.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import grpc

AUTHORIZATION = "authorization"
TOKEN_PREFIX = "pbx1"
# Where the embedded registry puts its first admin credential, beside its database.
ADMIN_CREDENTIAL_FILE = "admin.credential"
# Where a kiosk keeps the credential `kiosk-registry kiosk enrol` gave it.
KIOSK_CREDENTIAL_FILE = "registry.credential"


class CredentialFileError(Exception):
    pass


def new_token() -> tuple[str, str, str]:
    """(token, id, secret) for a new API key or kiosk credential."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}.{token_id}.{secret}", token_id, secret


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return ((AUTHORIZATION, f"Bearer {token}"),)


def basic(user: str, password: str) -> tuple[tuple[str, str], ...]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return ((AUTHORIZATION, f"Basic {pair}"),)


def write_secret_file(path: Path, text: str) -> None:
    """Writes a credential readable by its owner only (mode 0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text + "\n")
    os.chmod(path, 0o600)


def read_secret_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as error:
        raise CredentialFileError(f"cannot read the credential {path}: {error.strerror}") from None
    if mode & 0o077:
        raise CredentialFileError(
            f"the credential {path} is readable by others (mode {mode & 0o777:o}):"
            f" run chmod 600 {path}"
        )
    if split_token(text) is None:
        raise CredentialFileError(f"{path} does not hold a registry credential (pbx1....)")
    return text


class _Metadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the credential to every call on a channel (plaintext or TLS)."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def _details(self, details):
        return details._replace(metadata=tuple(details.metadata or ()) + self._metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


def authenticated_channel(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]
) -> grpc.Channel:
    return grpc.intercept_channel(channel, _Metadata(metadata))
