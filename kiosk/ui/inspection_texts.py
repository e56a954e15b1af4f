"""Texts of the staff inspection screens (compartments a crash left uncertain).

Kept apart from texts.py so the inspection feature stays in one place; the
msgids are extracted with the others (N_ marks) and translated in the same
catalogs.
"""

from __future__ import annotations

from kiosk.ui.texts import N_

COMPARTMENT_NEEDS_INSPECTION = N_("needs inspection")
STAFF_INSPECTIONS = N_("Inspections ({count})")
INSPECTIONS_TITLE = N_("Compartments to inspect")
INSPECTIONS_WHY = N_(
    "The kiosk was interrupted while these doors were unlocked. "
    "Open each one, look inside and say what you see."
)
INSPECTION_ITEM = N_("Compartment {number}: document {reference}")
INSPECTION_ITEM_NO_ORDER = N_("Compartment {number}: check the contents")
INSPECTION_OPEN = N_("Open compartment {number}")
INSPECTION_QUESTION = N_("Compartment {number} needs inspection: is document {reference} inside?")
INSPECTION_QUESTION_NO_ORDER = N_("Compartment {number} needs inspection: is it empty?")
INSPECTION_YES = N_("Yes, it is inside")
INSPECTION_NO = N_("No, it is empty")
INSPECTION_OTHER = N_("Something else is inside")
INSPECTION_NONE_LEFT = N_("No compartment needs an inspection.")
# Staff notices (see kiosk/ui/messages.py STAFF_NOTICES).
DEPOSIT_ERR_INSPECTION = N_(
    "Order {reference} waits for the inspection of its compartment. Resolve the inspection first."
)
INSPECTION_NOT_NEEDED = N_("This compartment does not need an inspection.")
INSPECTION_RECORDED = N_("Compartment {number}: your answer is recorded. Close the door.")
