"""Staff members as the kiosk knows them: hashes synced from the registry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffRecord:
    staff_id: str
    # scrypt lookup key of the card UID, and verifier over UID + staff PIN.
    card_lookup: bytes
    pin_verifier: str
    active: bool = True
