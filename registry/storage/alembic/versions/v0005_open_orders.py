"""Version 5: a partial index for full syncs, so they skip the historic orders.

A kiosk's full sync (empty cursor) only needs its orders that are still
actionable (see ``registry.database.OPEN_FOR_KIOSK``); with millions of
ended orders the index holds only the few open ones.

Revision ID: 0005
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The predicate is spelled exactly as the query spells it, so both
    # SQLite and PostgreSQL recognise that the partial index applies.
    op.execute(
        "CREATE INDEX orders_open_by_kiosk ON orders (kiosk_id, change_seq)"
        " WHERE end_time IS NULL OR (status = 'cancelled' AND deposit_time IS NOT NULL)"
    )
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("DROP INDEX orders_open_by_kiosk")
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
