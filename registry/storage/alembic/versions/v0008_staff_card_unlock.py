"""Version 8: the office unlocks a staff card that kiosks locked after wrong PINs.

``staff.unlock_generation`` goes up with each UnlockStaffCard and reaches the
kiosks with the staff sync (a kiosk unlocks a card it locked under a lower
generation); ``staff.card_unlock_time`` is when, so the console can tell
which reported locks are lifted.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


_COLUMNS = {
    "unlock_generation": "INTEGER NOT NULL DEFAULT 0",
    "card_unlock_time": "TEXT",
}


def upgrade() -> None:
    # Only what is missing: a file first built from the current baseline's
    # tables (tests turn such files back into older releases) may hold them.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("staff")}
    for name, definition in _COLUMNS.items():
        if name not in present:
            op.execute(f"ALTER TABLE staff ADD COLUMN {name} {definition}")
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("ALTER TABLE staff DROP COLUMN card_unlock_time")
    op.execute("ALTER TABLE staff DROP COLUMN unlock_generation")
    op.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
