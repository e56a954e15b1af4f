"""Transport security for the link between kiosks and the registry.

A kiosk in a public building talks to the registry over the municipal
network, so production deployments use TLS with client certificates
(mTLS): the registry knows which terminal is calling, and the terminal
knows it talks to the real registry. Loopback setups (the embedded
registry) may stay plaintext.
"""

from __future__ import annotations

from pathlib import Path

import grpc


class TlsConfigError(Exception):
    pass


def _read(path: Path | str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def server_credentials(cert_file: str | Path, key_file: str | Path,
                       client_ca_file: str | Path | None = None) -> grpc.ServerCredentials:
    """TLS for the registry; with a client CA every caller must show a certificate it signed."""
    pair = [(_read(key_file, "TLS key"), _read(cert_file, "TLS certificate"))]
    if client_ca_file is None:
        return grpc.ssl_server_credentials(pair)
    return grpc.ssl_server_credentials(
        pair, root_certificates=_read(client_ca_file, "client CA"), require_client_auth=True
    )


def channel_credentials(ca_file: str | Path, cert_file: str | Path | None = None,
                        key_file: str | Path | None = None) -> grpc.ChannelCredentials:
    """TLS for a kiosk: trust `ca_file`; present `cert_file`/`key_file` if given."""
    if (cert_file is None) != (key_file is None):
        raise TlsConfigError("a client certificate needs both registry.tls_cert_file and registry.tls_key_file")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file, "registry CA"),
        private_key=_read(key_file, "TLS key") if key_file else None,
        certificate_chain=_read(cert_file, "TLS certificate") if cert_file else None,
    )
