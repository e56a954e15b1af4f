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
    # The office's unlock count for this card (UnlockStaffCard): a card this
    # kiosk locked under a lower one is unlocked when the record arrives.
    unlock_generation: int = 0
