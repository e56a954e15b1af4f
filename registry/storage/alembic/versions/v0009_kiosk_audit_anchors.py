"""Version 12: audit retention reaches the registry's copies of the kiosks' chains.

``kiosk_audit_anchors`` is, per kiosk, where the chain the registry holds
starts once its oldest entries were purged (``kiosk-registry serve
--audit-days``, ``kiosk-registry purge``): the last purged entry's seq and
hash, signed with the kiosk chain's key. It is also the chain's head while
every entry the registry held has been purged, so the kiosk's next batch
still has to continue exactly there.

``IF NOT EXISTS``: a file first built at this version and turned back into
an older release (as tests do) keeps the table it has.

Revision ID: 0009
"""

from alembic import op

from registry.storage.migrations import for_dialect, statements

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosk_audit_anchors (
    kiosk_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL,
    purge_time TEXT NOT NULL
);
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in statements(for_dialect(SCHEMA, dialect)):
        op.execute(statement)
    op.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")


def downgrade() -> None:
    # Going back forgets where the purged kiosk chains start: `audit verify
    # --kiosk` then reports them as missing their first entries.
    op.execute("DROP TABLE kiosk_audit_anchors")
    op.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
