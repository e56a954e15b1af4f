"""Write-ahead intents: what the kiosk was about to do when it unlocked a door.

The core commits an intent before every unlock pulse and removes it in the
transaction that records the outcome (a deposit, a handover, a removal, a
failed door). An intent still there at start-up means the kiosk stopped in
between, and `kiosk.domain.inspection.reconcile` decides what the records
can still say for sure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.effects import UnlockPurpose


@dataclass(frozen=True)
class UnlockIntent:
    compartment: int
    purpose: UnlockPurpose
    order_reference: str = ""
    staff_ids: tuple[str, ...] = ()
    # A handover: the citizen had confirmed the PIN letter before the pulse.
    pin_letter_confirmed: bool = False
    created_at: datetime | None = None
    id: int = 0
