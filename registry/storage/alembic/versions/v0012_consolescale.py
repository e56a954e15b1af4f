"""Version 12: an index of when orders were collected, for the reports, and
one of the audit log by action in its order, for the alarms page.

A report counts the pickups of its period (registry/reports.py load_counts,
GROUP BY in the database); without the index each report read every order
the registry ever had (millions in issue 10's fleet). Partial: an order not
collected has no collect time. The console's alarms page lists the alarms
acknowledged last (registry/alarms.py acknowledged_rows): the index gives
them newest first instead of sorting 30 days of acknowledgements.

Revision ID: 0012
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: harmless to run on a database that has it already.
    op.execute("CREATE INDEX IF NOT EXISTS orders_by_collect_time ON orders (collect_time)"
               " WHERE collect_time IS NOT NULL")
    op.execute("CREATE INDEX IF NOT EXISTS audit_log_by_action_seq ON audit_log (action, seq)")
    op.execute("UPDATE meta SET value = '12' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.execute("DROP INDEX orders_by_collect_time")
    op.execute("DROP INDEX audit_log_by_action_seq")
    op.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
