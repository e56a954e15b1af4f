"""Version 8: the office unlocks a staff card that kiosks locked after wrong PINs.

``staff.unlock_generation`` goes up with each UnlockStaffCard and reaches the
kiosks with the staff sync (a kiosk unlocks a card it locked under a lower
generation); ``staff.card_unlock_time`` is when, so the console can tell
which reported locks are lifted.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
# 0007 is another branch's migration; whichever merges second points at it.
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE staff ADD COLUMN unlock_generation INTEGER NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE staff ADD COLUMN card_unlock_time TEXT")
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("ALTER TABLE staff DROP COLUMN card_unlock_time")
    op.execute("ALTER TABLE staff DROP COLUMN unlock_generation")
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
