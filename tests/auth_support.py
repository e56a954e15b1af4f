"""Credentials for tests that talk to a real registry: the local admin key the
registry creates at first start, and kiosk credentials enrolled on demand."""

from __future__ import annotations

from pathlib import Path

from common.auth import ADMIN_CREDENTIAL_FILE, KIOSK_CREDENTIAL_FILE, bearer, read_secret_file
from common.auth import write_secret_file
from registry import identity
from registry.database import DEFAULT_OFFICE, RegistryDatabase
from pickupbox.registry.v1 import registry_pb2_grpc


def admin_token(db_path: Path) -> str:
    return read_secret_file(Path(db_path).parent / ADMIN_CREDENTIAL_FILE)


def enrol(db: RegistryDatabase, kiosk_id: str, office_id: str = DEFAULT_OFFICE,
          certificate_name: str | None = None) -> str:
    """What `kiosk-registry kiosk enrol` does; returns the kiosk's credential."""
    with db.transaction() as tx:
        if tx.get_office(office_id) is None:
            tx.add_office(office_id, office_id)
        tx.enrol_kiosk(kiosk_id, office_id, certificate_name)
        return identity.create_kiosk_credential(tx, kiosk_id)


def enrol_into(db: RegistryDatabase, kiosk_id: str, data_dir: Path) -> None:
    """Enrols a kiosk and puts its credential where the kiosk looks for it."""
    write_secret_file(Path(data_dir) / KIOSK_CREDENTIAL_FILE, enrol(db, kiosk_id))


class KioskCaller:
    """A KioskService stub that calls as whichever kiosk the request names,
    enrolling that kiosk on first use (as an operator would beforehand)."""

    def __init__(self, channel, db: RegistryDatabase) -> None:
        self._stub = registry_pb2_grpc.KioskServiceStub(channel)
        self._db = db
        self.tokens: dict[str, str] = {}

    def token(self, kiosk_id: str) -> str:
        if kiosk_id not in self.tokens:
            self.tokens[kiosk_id] = enrol(self._db, kiosk_id)
        return self.tokens[kiosk_id]

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs.setdefault("metadata", bearer(self.token(request.kiosk_id)))
            return method(request, **kwargs)

        return call
