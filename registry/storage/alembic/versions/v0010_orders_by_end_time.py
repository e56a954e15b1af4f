"""Version 11: an index of when orders ended, for the retention purge.

The purge runs after every order that ends and looks only at the orders
whose record or contact can have fallen due since its last run; without the
index each run read every historic order (a million of them in issue 10's
benchmark). Partial: open orders have no end time; with the reference, so the
purge pages through it in index order.

Revision ID: 0010
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: harmless to run on a database that has it already.
    op.execute("CREATE INDEX IF NOT EXISTS orders_by_end_time ON orders (end_time, reference)"
               " WHERE end_time IS NOT NULL")
    op.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("DROP INDEX orders_by_end_time")
    op.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
