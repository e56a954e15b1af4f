"""Version 6: kiosks' audit chains, audit retention's anchor, client certificates, OIDC.

``kiosk_audit_log`` holds each kiosk's own hash chain exactly as the kiosk
hashed it, ``kiosk_audit_checkpoints`` the registry's signed checkpoints over
what it received. ``audit_anchor`` is where the registry's chain starts once
its oldest entries were purged (one signed row). ``principal_certificates``
binds office software's client certificate (CN or SAN) to one principal;
``oidc_identities`` maps an identity provider's (issuer, subject) to a user.

``IF NOT EXISTS``: registry files written by the pre-Alembic development
code of these features already hold the tables (same columns); they are
kept as they are.

Revision ID: 0006
"""

from alembic import op

from registry.storage.migrations import for_dialect, statements

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The entry columns as common.audit_chain hashes them (frozen here: a
# migration must not change when that module does).
_ENTRY_COLUMNS = """
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    office_id TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS principal_certificates (
    certificate_name TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    create_time TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL,
    purge_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kiosk_audit_log (
    kiosk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    {_ENTRY_COLUMNS.strip()},
    PRIMARY KEY (kiosk_id, seq)
);
CREATE TABLE IF NOT EXISTS kiosk_audit_checkpoints (
    kiosk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, seq)
);
"""

TABLES = ("kiosk_audit_checkpoints", "kiosk_audit_log", "audit_anchor", "oidc_identities",
          "principal_certificates")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in statements(for_dialect(SCHEMA, dialect)):
        op.execute(statement)
    op.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")


def downgrade() -> None:
    # Going back drops what these features stored (kiosks' chains, certificate
    # bindings, OIDC links): back up first, as docs/storage.md says.
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
