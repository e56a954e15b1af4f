"""Version 9: a forced password change at first sign-in, and the last sign-in per user.

``principals.password_change_required`` is 1 while a user's password is one
an administrator issued (a new user's initial password, a reset): the
console lets such a user only choose their own password, and the API
refuses it (PASSWORD_CHANGE_REQUIRED). ``principals.last_sign_in_time`` is
written at each console sign-in, so the users page no longer searches the
audit log (which retention purges) for it.

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


_COLUMNS = {
    # Existing users keep their passwords as they are: nobody is forced by the upgrade.
    "password_change_required": "INTEGER NOT NULL DEFAULT 0",
    "last_sign_in_time": "TEXT",
}


def upgrade() -> None:
    # Only what is missing, as in 0008 (a file built from newer tables and turned back).
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("principals")}
    for name, definition in _COLUMNS.items():
        if name not in present:
            op.execute(f"ALTER TABLE principals ADD COLUMN {name} {definition}")
    op.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("ALTER TABLE principals DROP COLUMN last_sign_in_time")
    op.execute("ALTER TABLE principals DROP COLUMN password_change_required")
    op.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
